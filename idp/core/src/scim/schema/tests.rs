use serde_json::json;

use super::*;
use crate::scim::list::Query;

fn user(extra: Value) -> Value {
    let mut u = json!({"schemas": [USER, ENTERPRISE], "userName": "li.na"});
    for (k, v) in extra.as_object().unwrap() {
        u[k] = v.clone();
    }
    u
}

#[test]
fn clean_keeps_known_attributes_under_their_own_names() {
    let input = user(json!({
        "ID": "chosen-by-client", "meta": {"version": "W/\"x\""}, "groups": [{"value": "g"}],
        "USERNAME": "ignored-second-spelling", "displayname": "李娜", "nickName": null,
        "emails": [{"value": "li@example.cn", "type": "work", "primary": true, "bogus": 1}],
        "addresses": [{"locality": "杭州"}], "active": "False",
        ENTERPRISE: {"employeeNumber": "701", "manager": {"value": "m1", "displayName": "ro"}},
        "externalId": "hr-701",
    }));
    let c = clean(&USERS, &input).unwrap();
    assert!(c.get("id").is_none() && c.get("meta").is_none() && c.get("groups").is_none(), "{c}");
    assert!(c.get("addresses").is_none() && c.get("nickName").is_none(), "{c}");
    assert_eq!(c["displayName"], "李娜");
    assert_eq!(c["active"], false, "a boolean written as a string");
    assert_eq!(c["emails"], json!([{"value": "li@example.cn", "type": "work", "primary": true}]));
    assert_eq!(c[ENTERPRISE], json!({"employeeNumber": "701", "manager": {"value": "m1"}}));
    assert_eq!(c["externalId"], "hr-701");
    assert_eq!(c["schemas"], json!([USER, ENTERPRISE]));
}

#[test]
fn clean_refuses_what_does_not_fit() {
    let refused = |v: Value| clean(&USERS, &v).unwrap_err();
    assert_eq!(refused(json!({"userName": "x"})).scim_type, "invalidValue", "no schemas");
    assert!(refused(json!({"schemas": [USER]})).detail.contains("userName is required"));
    assert!(refused(json!({"schemas": [USER], "userName": "  "})).detail.contains("required"));
    assert!(refused(user(json!({"active": 3}))).detail.contains("boolean"));
    assert!(refused(user(json!({"displayName": ["a"]}))).detail.contains("one value"));
    assert!(refused(user(json!({"name": "plain"}))).detail.contains("object"));
    assert!(refused(user(json!({"displayName": "x".repeat(MAX_STRING + 1)}))).detail.contains("longer"));
    assert!(refused(user(json!({"displayName": "a\u{0}b"}))).detail.contains("control"));
    let two = json!([{"value": "a@x.cn", "primary": true}, {"value": "b@x.cn", "primary": true}]);
    assert!(refused(user(json!({"emails": two}))).detail.contains("more than one primary"));
    let many: Vec<Value> = (0..=MAX_VALUES).map(|i| json!({"value": format!("{i}@x.cn")})).collect();
    assert!(refused(user(json!({"emails": many}))).detail.contains("more than"));
    assert!(refused(json!([1])).detail.contains("object"));
    assert!(clean(&GROUPS, &json!({"schemas": [GROUP]})).unwrap_err().detail.contains("displayName"));
}

#[test]
fn project_returns_what_is_asked_and_never_the_password() {
    let r = json!({
        "schemas": [USER, ENTERPRISE], "id": "a1", "userName": "li", "password": "secret-1",
        "name": {"givenName": "娜", "familyName": "李"}, "emails": [{"value": "li@x.cn", "type": "work"}],
        ENTERPRISE: {"employeeNumber": "701", "department": "财政"}, "meta": {"resourceType": "User"},
    });
    let all = project(&USERS, r.clone(), &[], &[]);
    assert!(all.get("password").is_none(), "{all}");
    let some = project(
        &USERS,
        r.clone(),
        &paths(&USERS, Some("userName,name.givenName,emails.value")).unwrap(),
        &[],
    );
    assert_eq!(
        some,
        json!({"schemas": [USER, ENTERPRISE], "id": "a1", "userName": "li", "name": {"givenName": "娜"}, "emails": [{"value": "li@x.cn"}]})
    );
    let ext = project(&USERS, r.clone(), &paths(&USERS, Some(ENTERPRISE)).unwrap(), &[]);
    assert_eq!(ext[ENTERPRISE]["department"], "财政", "{ext}");
    let one = format!("{ENTERPRISE}:employeeNumber");
    let ext = project(&USERS, r.clone(), &paths(&USERS, Some(&one)).unwrap(), &[]);
    assert_eq!(ext[ENTERPRISE], json!({"employeeNumber": "701"}));
    let without =
        project(&USERS, r, &[], &paths(&USERS, Some(&format!("emails,id,{one},name.familyName"))).unwrap());
    assert!(without.get("emails").is_none() && without["id"] == "a1", "{without}");
    assert_eq!(without[ENTERPRISE], json!({"department": "财政"}));
    assert_eq!(without["name"], json!({"givenName": "娜"}));
}

#[test]
fn schemas_describe_every_attribute_kept() {
    let s = USER_SCHEMA.to_json("https://idp/t/main/scim/v2");
    let names: Vec<&str> =
        s["attributes"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"userName") && names.contains(&"emails") && names.contains(&"groups"));
    let pw = s["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "password").unwrap();
    assert_eq!((pw["mutability"].as_str(), pw["returned"].as_str()), (Some("writeOnly"), Some("never")));
    let rt = USERS.to_json("https://idp/t/main/scim/v2");
    assert_eq!(rt["endpoint"], "/Users");
    assert_eq!(rt["schemaExtensions"][0]["schema"], ENTERPRISE);
}

#[test]
fn lists_filter_sort_and_page() {
    let people: Vec<Value> = ["wang", "Li", "zhao", "an"]
        .iter()
        .enumerate()
        .map(|(i, n)| json!({"schemas": [USER], "id": format!("{i}"), "userName": n, "title": if i % 2 == 0 { Value::Null } else { json!("clerk") }}))
        .collect();
    let q = |pairs: &[(&str, &str)]| Query::from_pairs(pairs.iter().copied()).unwrap().check(&USERS).unwrap();
    let names = |v: &Value| -> Vec<String> {
        v["Resources"]
            .as_array()
            .map_or(vec![], |a| a.iter().map(|r| r["userName"].as_str().unwrap().to_string()).collect())
    };
    let sorted = q(&[("sortBy", "userName")]).answer(&USERS, people.clone());
    assert_eq!(names(&sorted), ["an", "Li", "wang", "zhao"], "case-insensitive");
    assert_eq!(sorted["totalResults"], 4);
    let down = q(&[("sortBy", "title"), ("sortOrder", "descending")]).answer(&USERS, people.clone());
    assert_eq!(names(&down)[2..], ["wang".to_string(), "zhao".to_string()], "absent values last either way");
    let page =
        q(&[("sortBy", "userName"), ("startIndex", "2"), ("count", "2")]).answer(&USERS, people.clone());
    assert_eq!(
        (names(&page), &page["totalResults"], &page["startIndex"]),
        (vec!["Li".into(), "wang".into()], &json!(4), &json!(2))
    );
    let none = q(&[("filter", "userName eq \"nobody\"")]).answer(&USERS, people.clone());
    assert_eq!((none["totalResults"].clone(), none.get("Resources")), (json!(0), None));
    let zero = q(&[("count", "0")]).answer(&USERS, people.clone());
    assert_eq!((zero["totalResults"].clone(), zero["itemsPerPage"].clone()), (json!(4), json!(0)));
    let narrowed = q(&[("filter", "title pr and USERNAME eq \"Li\"")]);
    assert_eq!(narrowed.equals("userName"), Some("Li"));
    assert_eq!(
        q(&[("filter", "userName eq \"a\" or title pr")]).equals("userName"),
        None,
        "an or reads everything"
    );
    let bad = Query::from_pairs([("filter", "userName eq")]).unwrap().check(&USERS).unwrap_err();
    assert_eq!(bad.scim_type, "invalidFilter");
    assert!(Query::from_pairs([("count", "x")]).is_err());
    assert!(Query::from_pairs([("sortOrder", "up")]).unwrap().check(&USERS).is_err());
    let search: Query = serde_json::from_value(
        json!({"schemas": [SEARCH], "attributes": ["userName"], "filter": "title pr"}),
    )
    .unwrap();
    let found = search.check(&USERS).unwrap().answer(&USERS, people);
    assert_eq!(found["totalResults"], 2);
    assert!(found["Resources"][0].get("title").is_none(), "only what was asked");
}
