use serde_json::json;

use super::*;

fn user() -> Value {
    json!({
        "id": "2819c223",
        "userName": "Bjensen",
        "name": {"familyName": "Jensen", "givenName": "Barbara"},
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "meta": {"lastModified": "2026-05-13T04:42:34Z"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984"}
    })
}

fn check(filter: &str) -> bool {
    matches(&parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}")), &user())
}

#[test]
fn the_rfc_examples_parse_and_match() {
    assert!(check(r#"userName eq "bjensen""#), "userName is not case-exact");
    assert!(check(r#"USERNAME Eq "BJENSEN""#), "names and operators are case-insensitive");
    assert!(!check(r#"id eq "2819C223""#), "id is case-exact");
    assert!(check(r#"name.familyName co "ens""#));
    assert!(check(r#"userName sw "bj""#) && check(r#"userName ew "sen""#));
    assert!(check("emails pr") && !check("phoneNumbers pr"));
    assert!(check(r#"emails eq "babs@jensen.org""#), "any value of a multi-valued attribute");
    assert!(check(r#"emails[type eq "work" and value co "@example.com"]"#));
    assert!(!check(r#"emails[type eq "work" and value co "@jensen.org"]"#), "one value, both conditions");
    assert!(check(r#"meta.lastModified gt "2011-05-13T04:42:34Z""#));
    assert!(!check(r#"meta.lastModified lt "2011-05-13T04:42:34Z""#));
    assert!(check(r#"userName eq "x" or (active eq true and not (userName eq "x"))"#));
    assert!(check(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#
    ));
    assert!(check(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bjensen""#));
    assert!(check("title eq null") && !check("title ne null") && check("userName ne null"));
    assert!(check(r#"userName ne "other""#) && !check(r#"emails ne "babs@jensen.org""#));
}

#[test]
fn precedence_is_not_then_and_then_or() {
    let f = parse(r#"a eq 1 or b eq 2 and c eq 3"#).unwrap();
    assert!(matches!(f, Filter::Or(_, ref r) if matches!(**r, Filter::And(..))), "{f:?}");
}

#[test]
fn bad_filters_are_refused() {
    for bad in [
        "",
        "userName",
        "userName eq",
        r#"userName xx "a""#,
        r#"userName eq "a"#,
        r#"(userName eq "a""#,
        r#"emails[type eq "work""#,
        r#"userName eq "a" and"#,
        r#"userName eq "a" garbage"#,
        "userName eq bare",
        "not userName pr",
        "1abc pr",
        "a:b pr",
    ] {
        assert!(parse(bad).is_err(), "{bad:?}");
    }
    let deep = format!("{}a pr{}", "(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
    assert!(parse(&deep).is_err(), "too deep");
    assert!(parse(&format!("userName eq \"{}\"", "a".repeat(MAX_LEN))).is_err(), "too long");
}

#[test]
fn patch_paths() {
    let p = parse_patch_path(r#"emails[type eq "work"].value"#).unwrap();
    assert_eq!((p.attr.attr.as_str(), p.sub.as_deref()), ("emails", Some("value")));
    assert!(p.filter.is_some());
    let p = parse_patch_path("name.givenName").unwrap();
    assert_eq!((p.attr.attr.as_str(), p.attr.sub.as_deref(), p.filter), ("name", Some("givenName"), None));
    let p = parse_patch_path(r#"members[value eq "2819c223"]"#).unwrap();
    assert!(p.sub.is_none() && p.filter.is_some());
    let p =
        parse_patch_path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department").unwrap();
    assert_eq!(p.attr.urn.as_deref(), Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"));
    for bad in ["", "emails[type eq \"work\"", "emails[type eq \"work\"].", "a b", "emails]"] {
        assert!(parse_patch_path(bad).is_err(), "{bad:?}");
    }
}
