//! The service halls: the counter where a clerk checks a person's document and raises the
//! account's real-name level, and the phone's side of a kiosk sign-in (the device
//! verification page, RFC 8628 §3.3).

pub mod counter;
pub mod device;
