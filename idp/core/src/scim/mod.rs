//! SCIM 2.0 (RFC 7643, RFC 7644): what the service provider for HR systems needs to read and
//! check — filters and PATCH paths (`filter`), PATCH requests applied (`patch`). The resources and endpoints are the server's.

pub mod filter;
pub mod patch;
