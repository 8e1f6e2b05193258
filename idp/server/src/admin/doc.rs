//! The admin API's OpenAPI 3.1 document, built from the route table (`routes.rs`): each
//! [`Route`] names its method, path, handler, summary, request body, answers and problem
//! statuses, and the bodies' schemas are the ones `idp-proto` derives (`utoipa::ToSchema`, the
//! crate's `openapi` feature) for the very types the handlers serialize. The router is made from
//! the same table (`super::routes`), so a route cannot be served undocumented nor documented
//! unserved.

use std::sync::Arc;

use axum::handler::Handler;
use axum::routing::{MethodFilter, MethodRouter, on};
use utoipa::openapi::path::{HttpMethod, OperationBuilder, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ComponentsBuilder, ObjectBuilder, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::server::Server;
use utoipa::openapi::{
    ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathItem, PathsBuilder, Ref, RefOr, Required,
    ResponseBuilder, Schema,
};
use utoipa::{IntoParams, ToSchema};

use crate::state::AppState;

/// What the document says of the API as a whole.
const DESCRIPTION: &str = "Administration of one tenant of the identity provider. Callers present \
an access token issued by that tenant's own issuer for this API as its resource (RFC 8707: `aud` is \
`{public_url}/admin/v1`), to an administrators' client (`admin_client`), for a person, with the \
`admin` scope, from a sign-in with two factors (acr `aal2`); any other token is answered 401. System \
administrators manage the whole organisation tree, security administrators read it, delegated \
organisation administrators (staff whose membership carries the role `org_admin`) see and manage \
exactly their organisation's subtree, audit administrators have no rights here. Every change is \
audited with the administrator's account id. Errors are RFC 9457 problem details \
(`application/problem+json`).";

/// The problem answers an operation may give: (status, component name, description).
const PROBLEMS: &[(u16, &str, &str)] = &[
    (400, "BadRequest", "The request is not valid (the detail says why)"),
    (401, "Unauthorized", "No access token, or not a live one of this tenant"),
    (403, "Forbidden", "Not an administrator, no admin scope, below aal2, or outside the caller's rights"),
    (404, "NotFound", "No such tenant, or no such thing in it"),
    (409, "Conflict", "It exists already, or is already done"),
    (415, "UnsupportedMediaType", "The body must be application/json"),
];

/// The statuses every operation may answer with a problem: a bad request, no valid token, no
/// right, no such tenant.
pub(super) const COMMON: &[u16] = &[400, 401, 403, 404];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    fn filter(self) -> MethodFilter {
        match self {
            Method::Get => MethodFilter::GET,
            Method::Post => MethodFilter::POST,
            Method::Put => MethodFilter::PUT,
            Method::Patch => MethodFilter::PATCH,
            Method::Delete => MethodFilter::DELETE,
        }
    }

    fn http(self) -> HttpMethod {
        match self {
            Method::Get => HttpMethod::Get,
            Method::Post => HttpMethod::Post,
            Method::Put => HttpMethod::Put,
            Method::Patch => HttpMethod::Patch,
            Method::Delete => HttpMethod::Delete,
        }
    }

    /// As the document's path items name it.
    #[cfg(test)]
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Post => "post",
            Method::Put => "put",
            Method::Patch => "patch",
            Method::Delete => "delete",
        }
    }
}

type Schemas = Vec<(String, RefOr<Schema>)>;

/// A body's schema in an operation, and the named schemas it needs among the components.
#[derive(Clone, Copy)]
struct Payload {
    schema: fn() -> RefOr<Schema>,
    needs: fn(&mut Schemas),
}

fn reference<T: ToSchema>() -> RefOr<Schema> {
    Ref::from_schema_name(T::name()).into()
}

fn list_of<T: ToSchema>() -> RefOr<Schema> {
    ArrayBuilder::new().items(reference::<T>()).into()
}

fn needs<T: ToSchema>(schemas: &mut Schemas) {
    schemas.push((T::name().into(), T::schema()));
    T::schemas(schemas);
}

impl Payload {
    fn one<T: ToSchema>() -> Self {
        Self { schema: reference::<T>, needs: needs::<T> }
    }

    fn list<T: ToSchema>() -> Self {
        Self { schema: list_of::<T>, needs: needs::<T> }
    }
}

/// One operation of the admin API: how it is routed and how it is documented.
pub(super) struct Route {
    pub method: Method,
    /// Under `/admin/v1`.
    pub path: &'static str,
    pub handler: MethodRouter<Arc<AppState>>,
    operation_id: &'static str,
    summary: &'static str,
    /// The request body, and whether it must be sent.
    body: Option<(Payload, bool)>,
    /// (status, description, body): the answers that are not problems.
    answers: Vec<(u16, &'static str, Option<Payload>)>,
    /// The first answer may also come as `text/csv`.
    csv: bool,
    problems: Vec<u16>,
    query: Option<fn() -> Vec<Parameter>>,
    /// Path parameters' descriptions and, for an action, the values it takes.
    params: Vec<(&'static str, &'static str, &'static [&'static str])>,
}

/// A route of `method` at `path` (under `/admin/v1`) served by `handler`; it may answer the
/// [`COMMON`] problems.
pub(super) fn route<H, T>(
    method: Method,
    path: &'static str,
    operation_id: &'static str,
    summary: &'static str,
    handler: H,
) -> Route
where
    H: Handler<T, Arc<AppState>>,
    T: 'static,
{
    Route {
        method,
        path,
        handler: on(method.filter(), handler),
        operation_id,
        summary,
        body: None,
        answers: vec![],
        csv: false,
        problems: COMMON.to_vec(),
        query: None,
        params: vec![],
    }
}

impl Route {
    /// A JSON body of `T` is required (so is its media type: 415 otherwise).
    pub fn body<T: ToSchema>(mut self) -> Self {
        self.body = Some((Payload::one::<T>(), true));
        self.also(&[415])
    }

    /// A JSON body of `T` may be sent.
    pub fn optional_body<T: ToSchema>(mut self) -> Self {
        self.body = Some((Payload::one::<T>(), false));
        self.also(&[415])
    }

    /// Answers `status` with a `T`.
    pub fn answers<T: ToSchema>(mut self, status: u16, description: &'static str) -> Self {
        self.answers.push((status, description, Some(Payload::one::<T>())));
        self
    }

    /// Answers `status` with an array of `T`.
    pub fn answers_list<T: ToSchema>(mut self, status: u16, description: &'static str) -> Self {
        self.answers.push((status, description, Some(Payload::list::<T>())));
        self
    }

    /// The first answer is also given as CSV (`format=csv`).
    pub fn or_csv(mut self) -> Self {
        self.csv = true;
        self
    }

    /// It may also answer these problems.
    pub fn also(mut self, statuses: &[u16]) -> Self {
        self.problems.extend(statuses);
        self.problems.sort_unstable();
        self.problems.dedup();
        self
    }

    /// It answers only these problems.
    pub fn only(mut self, statuses: &[u16]) -> Self {
        self.problems = statuses.to_vec();
        self
    }

    /// Its query string is a `Q`.
    pub fn query<Q: IntoParams>(mut self) -> Self {
        self.query = Some(|| Q::into_params(|| Some(ParameterIn::Query)));
        self
    }

    /// The path parameter `name`: what it is, and the values it takes (none: any).
    pub fn param(
        mut self,
        name: &'static str,
        description: &'static str,
        values: &'static [&'static str],
    ) -> Self {
        self.params.push((name, description, values));
        self
    }

    /// The names of the path's parameters, `{tenant}` and the like, in order.
    pub fn path_params(&self) -> Vec<&'static str> {
        self.path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')).collect()
    }

    fn path_parameters(&self) -> Vec<Parameter> {
        self.path_params()
            .into_iter()
            .map(|name| {
                let given = self.params.iter().find(|p| p.0 == name);
                let description = match (name, given) {
                    (_, Some((_, d, _))) => Some(*d),
                    ("tenant", None) => Some("The tenant's slug"),
                    _ => None,
                };
                let mut schema = ObjectBuilder::new().schema_type(Type::String);
                if let Some((_, _, values)) = given.filter(|p| !p.2.is_empty()) {
                    schema = schema.enum_values(Some(values.iter().copied()));
                }
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .description(description.filter(|d| !d.is_empty()))
                    .schema(Some(schema))
                    .build()
            })
            .collect()
    }
}

fn problem_name(status: u16) -> &'static str {
    PROBLEMS.iter().find(|p| p.0 == status).map_or("Problem", |p| p.1)
}

/// The document describing `routes`.
pub(super) fn document(routes: &[Route]) -> OpenApi {
    let mut schemas: Schemas = vec![];
    needs::<idp_proto::Problem>(&mut schemas);
    let mut paths = PathsBuilder::new();
    let mut problems_used = vec![];
    for r in routes {
        let mut op = OperationBuilder::new()
            .operation_id(Some(r.operation_id))
            .summary(Some(r.summary))
            .parameters(Some(r.path_parameters()));
        if let Some(query) = r.query {
            op = op.parameters(Some(query()));
        }
        if let Some((payload, required)) = r.body {
            (payload.needs)(&mut schemas);
            let content = ContentBuilder::new().schema(Some((payload.schema)())).build();
            let body = RequestBodyBuilder::new()
                .required(Some(if required { Required::True } else { Required::False }))
                .content("application/json", content)
                .build();
            op = op.request_body(Some(body));
        }
        for (i, (status, description, payload)) in r.answers.iter().enumerate() {
            let mut res = ResponseBuilder::new().description(*description);
            if let Some(p) = payload {
                (p.needs)(&mut schemas);
                res =
                    res.content("application/json", ContentBuilder::new().schema(Some((p.schema)())).build());
            }
            if r.csv && i == 0 {
                let text = ObjectBuilder::new().schema_type(Type::String);
                res = res.content("text/csv", ContentBuilder::new().schema(Some(text)).build());
            }
            op = op.response(status.to_string(), res.build());
        }
        for status in &r.problems {
            op = op.response(
                status.to_string(),
                Ref::new(format!("#/components/responses/{}", problem_name(*status))),
            );
            if !problems_used.contains(status) {
                problems_used.push(*status);
            }
        }
        paths = paths.path(r.path, PathItem::new(r.method.http(), op.build()));
    }
    problems_used.sort_unstable();
    let problem = || {
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name(<idp_proto::Problem as ToSchema>::name())))
            .build()
    };
    let mut components = ComponentsBuilder::new().schemas_from_iter(schemas).security_scheme(
        "bearer",
        SecurityScheme::Http(
            Http::builder()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "An access token of the tenant's issuer for the admin API, with the admin scope, \
                         from an aal2 sign-in.",
                ))
                .build(),
        ),
    );
    for status in problems_used {
        let (_, name, description) =
            PROBLEMS.iter().find(|p| p.0 == status).copied().unwrap_or((status, "Problem", "A problem"));
        components = components.response(
            name,
            ResponseBuilder::new()
                .description(description)
                .content(idp_proto::PROBLEM_JSON, problem())
                .build(),
        );
    }
    OpenApiBuilder::new()
        .info(InfoBuilder::new().title("idp admin API").version("1").description(Some(DESCRIPTION)).build())
        .servers(Some([Server::new("/admin/v1")]))
        .paths(paths.build())
        .components(Some(components.build()))
        .security(Some([SecurityRequirement::new("bearer", Vec::<String>::new())]))
        .build()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::super::routes::table;

    fn doc() -> Value {
        let text = super::document(&table()).to_pretty_json().unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// Every `$ref` in `v`.
    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    match (k.as_str(), x) {
                        ("$ref", Value::String(r)) => out.push(r),
                        _ => refs(x, out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }

    #[test]
    fn the_document_is_openapi_3_1_and_every_reference_resolves() {
        let doc = doc();
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(doc["servers"][0]["url"], "/admin/v1");
        assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
        let mut all = vec![];
        refs(&doc, &mut all);
        assert!(all.len() > 100, "{}", all.len());
        for r in all {
            let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("{r} is not local"));
            assert!(doc.pointer(pointer).is_some(), "{r} is not in the document");
        }
    }

    /// Each answer's body is a defined component (or an array of one), problems are problem
    /// details, and every operation says what it answers when it works.
    #[test]
    fn every_documented_response_schema_is_a_defined_component() {
        let doc = doc();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let defined = |r: &Value| {
            let name = r.as_str().and_then(|r| r.strip_prefix("#/components/schemas/"));
            name.is_some_and(|n| schemas.contains_key(n))
        };
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let responses = op["responses"].as_object().unwrap();
                assert!(responses.keys().any(|s| s.starts_with('2')), "{method} {path}: no success");
                for (status, res) in responses {
                    let res = match res.get("$ref").and_then(Value::as_str) {
                        Some(r) => doc.pointer(r.strip_prefix('#').unwrap()).unwrap(),
                        None => res,
                    };
                    for (media, content) in res["content"].as_object().into_iter().flatten() {
                        let schema = &content["schema"];
                        match media.as_str() {
                            "application/json" | "application/problem+json" => {
                                let r = schema.get("$ref").or_else(|| schema["items"].get("$ref"));
                                assert!(r.is_some_and(defined), "{method} {path} {status}: {schema}");
                            }
                            "text/csv" => assert_eq!(schema["type"], "string"),
                            other => panic!("{method} {path} {status}: {other}"),
                        }
                        if status.starts_with('4') {
                            assert_eq!(media, "application/problem+json");
                            assert_eq!(schema["$ref"], "#/components/schemas/Problem");
                        }
                    }
                }
            }
        }
        for wire in ["TenantDetail", "ClientInfo", "ClientRequest", "AccountDetail", "AuditReport", "Stats"] {
            assert!(schemas.contains_key(wire), "{wire}");
        }
    }

    /// The document has exactly the table's operations, each path's parameters all declared, and
    /// no (method, path) twice (the router would refuse that too).
    #[test]
    fn the_document_describes_exactly_the_route_table() {
        let doc = doc();
        let mut described = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                described.insert((method.clone(), path.clone()));
                let declared: Vec<&str> = op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["in"] == "path")
                    .filter_map(|p| p["name"].as_str())
                    .collect();
                let wanted: Vec<&str> =
                    path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')).collect();
                assert_eq!(declared, wanted, "{method} {path}");
            }
        }
        let table = table();
        let routes: BTreeSet<(String, String)> =
            table.iter().map(|r| (r.method.as_str().to_string(), r.path.to_string())).collect();
        assert_eq!(routes.len(), table.len(), "a (method, path) twice in the table");
        assert_eq!(described, routes);
        assert!(routes.iter().all(|(_, p)| p.starts_with("/tenants")), "paths are under /admin/v1");
    }
}
