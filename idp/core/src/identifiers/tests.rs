//! Every number here is synthetic: built for its check character, not taken from anyone.

use proptest::prelude::*;

use super::*;

fn today() -> CalendarDate {
    CalendarDate::new(2024, 6, 1).unwrap()
}

fn parse(input: &str) -> Result<PersonId, IdError> {
    parse_person_id_on(input, today())
}

/// The 17 digits with their MOD 11-2 check character appended.
fn with_check(first17: &str) -> String {
    let digits: Vec<u32> = first17.chars().map(|c| c.to_digit(10).unwrap()).collect();
    let body: [u32; 17] = digits.try_into().unwrap();
    format!("{first17}{}", mod11_2_check(&body))
}

#[test]
fn the_valid_examples_of_domain_md_pass() {
    let id = parse("220102199003070013").unwrap();
    assert_eq!(id.kind, PersonIdKind::ResidentIdCard);
    assert_eq!(id.number, "220102199003070013");
    assert_eq!(id.birth_date, CalendarDate::new(1990, 3, 7).unwrap());
    assert_eq!(id.sex, Sex::Male);
    assert!(!id.converted_from_legacy);
    assert!(id.warnings.is_empty());

    let id = parse("11010519491231002X").unwrap();
    assert_eq!((id.birth_date.to_string(), id.sex), ("1949-12-31".to_string(), Sex::Female));
    let id = parse("22020219720101123X").unwrap();
    assert_eq!((id.birth_date.to_string(), id.sex), ("1972-01-01".to_string(), Sex::Male));
}

#[test]
fn the_invalid_examples_of_domain_md_fail_for_their_reason() {
    assert_eq!(parse("220102199003070014"), Err(IdError::CheckMismatch { expected: '3', found: '4' }));
    assert_eq!(parse("220102199002300013"), Err(IdError::ImpossibleBirthDate));
    assert_eq!(parse("2201021990030700"), Err(IdError::WrongLength { expected: 18, found: 16 }));
}

#[test]
fn lower_case_x_is_normalised() {
    let id = parse("11010519491231002x").unwrap();
    assert_eq!(id.number, "11010519491231002X");
}

#[test]
fn residence_permits_and_the_foreign_card_are_recognised() {
    let cases = [
        ("810000199408230021", PersonIdKind::HongKongResidencePermit, "hk_macau_permit", Sex::Female),
        ("820000200001010040", PersonIdKind::MacauResidencePermit, "hk_macau_permit", Sex::Female),
        ("830000198512120032", PersonIdKind::TaiwanResidencePermit, "taiwan_permit", Sex::Male),
        (
            "911840198807150015",
            PersonIdKind::ForeignPermanentResidentCard,
            "foreign_permanent_resident",
            Sex::Male,
        ),
        (
            "911840198807150023",
            PersonIdKind::ForeignPermanentResidentCard,
            "foreign_permanent_resident",
            Sex::Female,
        ),
    ];
    for (number, kind, id_type, sex) in cases {
        let id = parse(number).unwrap();
        assert_eq!((id.kind, id.kind.as_str(), id.sex), (kind, id_type, sex), "{number}");
        assert!(id.warnings.is_empty(), "{number}");
    }
    assert_eq!(PersonIdKind::ResidentIdCard.as_str(), "resident_id");
    assert!(matches!(parse("810000199408230022"), Err(IdError::CheckMismatch { .. })));
}

#[test]
fn legacy_15_digit_numbers_are_converted() {
    let id = parse("220102900307001").unwrap();
    assert_eq!(id.number, "220102199003070013");
    assert_eq!(id.kind, PersonIdKind::ResidentIdCard);
    assert_eq!((id.birth_date, id.sex), (CalendarDate::new(1990, 3, 7).unwrap(), Sex::Male));
    assert!(id.converted_from_legacy);
    assert_eq!(parse("220102900230001"), Err(IdError::ImpossibleBirthDate));
    assert_eq!(parse("22010290030700X"), Err(IdError::BadCharacter { position: 15 }));
}

#[test]
fn unknown_regions_are_warned_about_not_rejected() {
    for number in ["010102199003070014", "710000199003070011", "810001199003070016"] {
        let number = with_check(&number[..17]);
        let id = parse(&number).unwrap();
        assert_eq!(id.warnings, vec![IdWarning::UnknownRegion], "{number}");
        assert_eq!(id.kind, PersonIdKind::ResidentIdCard);
    }
    // The foreign card's province is its 2nd and 3rd digits.
    let id = parse(&with_check("90184019880715001")).unwrap();
    assert_eq!(id.warnings, vec![IdWarning::UnknownRegion]);
}

#[test]
fn birth_dates_must_be_real_and_not_in_the_future() {
    assert!(parse(&with_check("11010520000229002")).is_ok());
    assert_eq!(parse(&with_check("11010519000229002")), Err(IdError::ImpossibleBirthDate));
    assert_eq!(parse(&with_check("11010519901301002")), Err(IdError::ImpossibleBirthDate));
    assert_eq!(parse(&with_check("11010519900100002")), Err(IdError::ImpossibleBirthDate));
    assert_eq!(parse(&with_check("11010519900431002")), Err(IdError::ImpossibleBirthDate));
    assert!(parse(&with_check("11010520240601002")).is_ok(), "born today");
    assert_eq!(parse(&with_check("11010520240602002")), Err(IdError::BirthDateInFuture));
    assert_eq!(parse(&with_check("11010530000101002")), Err(IdError::BirthDateInFuture));
}

#[test]
fn lengths_and_characters_are_reported_precisely() {
    assert_eq!(parse(""), Err(IdError::WrongLength { expected: 18, found: 0 }));
    assert_eq!(parse("2201021990030700131"), Err(IdError::WrongLength { expected: 18, found: 19 }));
    assert_eq!(parse(" 220102199003070013"), Err(IdError::WrongLength { expected: 18, found: 19 }));
    assert_eq!(parse("22010219900307001Y"), Err(IdError::BadCharacter { position: 18 }));
    assert_eq!(parse("2201021990030700X3"), Err(IdError::BadCharacter { position: 17 }));
    assert_eq!(parse("22010２199003070013"), Err(IdError::BadCharacter { position: 6 }), "full-width digit");
    assert_eq!(parse("22010219900307001３"), Err(IdError::BadCharacter { position: 18 }));
}

#[test]
fn error_messages_never_contain_the_number() {
    let inputs = ["220102199003070014", "220102199002300013", "2201021990030700", "2201021990030700X3"];
    for input in inputs {
        let message = parse(input).unwrap_err().to_string();
        assert!(!message.contains(&input[..6]) && !message.contains(&input[6..14]), "{message}");
        assert!(message.is_ascii() && !message.is_empty());
    }
    assert_eq!(
        parse("220102199003070014").unwrap_err().to_string(),
        "check character mismatch: expected 3, found 4"
    );
    assert_eq!(
        parse("2201021990").unwrap_err().to_string(),
        "wrong length: expected 18 characters, found 10"
    );
    assert_eq!(
        parse_uscc("91220101MA0Y3K5QIC").unwrap_err().to_string(),
        "character 17 is not allowed at that position"
    );
}

#[test]
fn debug_output_masks_the_number() {
    let debug = format!("{:?}", parse("220102199003070013").unwrap());
    assert!(debug.contains("2201**********0013") && !debug.contains("220102199003070013"), "{debug}");
}

#[test]
fn masking_keeps_the_first_and_last_four() {
    assert_eq!(mask_id_number("220102199003070013"), "2201**********0013");
    assert_eq!(mask_id_number("220102900307001"), "2201*******7001");
    assert_eq!(mask_id_number("12345678"), "********");
    assert_eq!(mask_id_number(""), "");
    assert_eq!(mask_id_number("中文字符一二三四五六"), "中文字符**三四五六");
}

#[test]
fn today_is_taken_in_china_standard_time() {
    let date = |s| CalendarDate::from_unix_in_china(s).to_string();
    assert_eq!(date(0), "1970-01-01");
    assert_eq!(date(1_704_038_399), "2023-12-31"); // 2023-12-31T15:59:59Z
    assert_eq!(date(1_704_038_400), "2024-01-01"); // 2023-12-31T16:00:00Z
    assert_eq!(date(951_782_400), "2000-02-29"); // 2000-02-29T00:00:00Z
    assert_eq!(date(-86_400), "1969-12-31");
    assert_eq!(date(i64::MAX), "9999-12-31");
    assert_eq!(date(i64::MIN), "0000-01-01");
    let id = parse_person_id("220102199003070013", 1_717_200_000).unwrap();
    assert_eq!(id.number, "220102199003070013");
    assert_eq!(parse_person_id("110105202406020021", 1_717_200_000), Err(IdError::BirthDateInFuture));
}

#[test]
fn calendar_dates_exist_or_are_refused() {
    assert!(CalendarDate::new(2024, 2, 29).is_some());
    assert!(CalendarDate::new(2023, 2, 29).is_none());
    assert!(CalendarDate::new(2023, 0, 1).is_none());
    assert!(CalendarDate::new(2023, 12, 32).is_none());
    assert!(CalendarDate::new(10_000, 1, 1).is_none());
    assert!(CalendarDate::new(1999, 12, 31) < CalendarDate::new(2000, 1, 1));
}

#[test]
fn the_valid_uscc_examples_of_domain_md_pass() {
    for code in ["91220101MA0Y3K5Q3C", "122200000123456714", "52220000MJ0000122U"] {
        let uscc = parse_uscc(code).unwrap();
        assert_eq!(uscc.code(), code);
        assert!(uscc.flags().is_empty() && !uscc.needs_registry_verification(), "{code}");
    }
    let uscc = parse_uscc("91220101ma0y3k5q3c").unwrap();
    assert_eq!(uscc.code(), "91220101MA0Y3K5Q3C");
    assert_eq!((uscc.registration_authority(), uscc.entity_category()), ('9', '1'));
    assert_eq!((uscc.region_code(), uscc.organisation_code()), ("220101", "MA0Y3K5Q3"));
}

#[test]
fn uscc_check_mismatches_are_flagged_not_rejected() {
    let uscc = parse_uscc("91220101MA0Y3K5Q3D").unwrap();
    assert_eq!(uscc.flags(), [UsccFlag::CheckMismatch { expected: 'C', found: 'D' }]);
    assert!(uscc.needs_registry_verification());
    // Right overall check, wrong organisation code check.
    let uscc = parse_uscc("91220101MA0Y3K5Q4F").unwrap();
    assert_eq!(uscc.flags(), [UsccFlag::OrganisationCodeCheckMismatch { expected: '3', found: '4' }]);
}

#[test]
fn malformed_usccs_are_rejected() {
    assert_eq!(parse_uscc("91220101MA0Y3K5Q3"), Err(IdError::WrongLength { expected: 18, found: 17 }));
    assert_eq!(parse_uscc(""), Err(IdError::WrongLength { expected: 18, found: 0 }));
    for (i, bad) in ["I", "O", "Z", "S", "V", "-", " ", "Ａ"].iter().enumerate() {
        let mut code = "91220101MA0Y3K5Q3C".to_string();
        let position = i + 2;
        code.replace_range(position - 1..position, bad);
        assert_eq!(parse_uscc(&code), Err(IdError::BadCharacter { position }), "{bad}");
    }
}

/// A valid 18-digit resident number from its parts.
fn resident(province: u32, county: u32, (y, m, d): (u16, u8, u8), sequence: u32) -> String {
    let d = d.min(days_in_month(y, m));
    with_check(&format!("{province:02}{county:04}{y:04}{m:02}{d:02}{sequence:03}"))
}

/// A valid USCC: 8 leading characters and an organisation code body, both checks computed.
fn uscc(head: &[usize], org: &[usize]) -> String {
    let mut code: String = head.iter().chain(org).map(|&i| char::from(USCC_CHARSET[i])).collect();
    let org_value = |c: char| c.to_digit(36).unwrap();
    let sum: u32 = code[8..16].chars().zip(ORG_CODE_WEIGHTS).map(|(c, w)| org_value(c) * w).sum();
    code.push(match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        n => char::from_digit(n, 10).unwrap(),
    });
    let sum: u32 = code
        .bytes()
        .zip(USCC_WEIGHTS)
        .map(|(b, w)| USCC_CHARSET.iter().position(|&c| c == b).unwrap() as u32 * w)
        .sum();
    code.push(char::from(USCC_CHARSET[((31 - sum % 31) % 31) as usize]));
    code
}

/// Characters to substitute: the valid ones, their lower case and some that never belong.
const REPLACEMENTS: &str = "0123456789ABCDEFGHJKLMNPQRTUWXYabcxyIOSVZios -中２";

fn date() -> impl Strategy<Value = (u16, u8, u8)> {
    (1900u16..=2024, 1u8..=12, 1u8..=31).prop_filter("not after today", |&(y, m, _)| (y, m) < (2024, 6))
}

proptest! {
    #[test]
    fn every_generated_resident_number_passes(
        p in 0..ISSUING_PROVINCES.len(), county in 0u32..10_000, date in date(), sequence in 0u32..1000,
    ) {
        let number = resident(ISSUING_PROVINCES[p], county, date, sequence);
        let id = parse(&number).unwrap();
        prop_assert_eq!(&id.number, &number);
        prop_assert_eq!(id.kind, PersonIdKind::ResidentIdCard);
        prop_assert!(id.warnings.is_empty());
        prop_assert_eq!(id.sex, if sequence % 2 == 1 { Sex::Male } else { Sex::Female });
        prop_assert_eq!(id.birth_date.to_string(), format!("{}-{}-{}", &number[6..10], &number[10..12], &number[12..14]));
        prop_assert_eq!(parse(&number.to_lowercase()).unwrap().number, number.clone());
        prop_assert_eq!(mask_id_number(&number).matches('*').count(), 10);
        if (1900..2000).contains(&date.0) {
            let legacy = format!("{}{}", &number[..6], &number[8..17]);
            let converted = parse(&legacy).unwrap();
            prop_assert_eq!(&converted.number, &number);
            prop_assert!(converted.converted_from_legacy);
        }
    }

    #[test]
    fn every_single_change_of_a_resident_number_fails(
        p in 0..ISSUING_PROVINCES.len(), county in 0u32..10_000, date in date(), sequence in 0u32..1000,
        position in 0usize..18, replacement in proptest::sample::select(REPLACEMENTS.chars().collect::<Vec<_>>()),
    ) {
        let number = resident(ISSUING_PROVINCES[p], county, date, sequence);
        let original = number.chars().nth(position).unwrap();
        prop_assume!(!replacement.eq_ignore_ascii_case(&original));
        let changed: String = number.chars().enumerate().map(|(i, c)| if i == position { replacement } else { c }).collect();
        let result = parse(&changed);
        prop_assert!(result.is_err(), "{:?}", result);
        let message = result.unwrap_err().to_string();
        let (region, birth): (String, String) = (changed.chars().take(6).collect(), changed.chars().skip(6).take(8).collect());
        prop_assert!(!message.contains(&region) && !message.contains(&birth), "{}", message);
    }

    #[test]
    fn every_generated_uscc_passes(
        head in proptest::collection::vec(0usize..31, 8), org in proptest::collection::vec(0usize..31, 8),
    ) {
        let code = uscc(&head, &org);
        let parsed = parse_uscc(&code).unwrap();
        prop_assert_eq!(parsed.code(), code.as_str());
        prop_assert!(parsed.flags().is_empty(), "{:?}", parsed.flags());
        prop_assert!(parse_uscc(&code.to_lowercase()).unwrap().flags().is_empty());
    }

    #[test]
    fn every_single_change_of_a_uscc_fails_or_is_flagged(
        head in proptest::collection::vec(0usize..31, 8), org in proptest::collection::vec(0usize..31, 8),
        position in 0usize..18, replacement in proptest::sample::select(REPLACEMENTS.chars().collect::<Vec<_>>()),
    ) {
        let code = uscc(&head, &org);
        let original = code.chars().nth(position).unwrap();
        prop_assume!(!replacement.eq_ignore_ascii_case(&original));
        let changed: String = code.chars().enumerate().map(|(i, c)| if i == position { replacement } else { c }).collect();
        match parse_uscc(&changed) {
            Ok(parsed) => {
                let flagged = parsed.flags().iter().any(|f| matches!(f, UsccFlag::CheckMismatch { .. }));
                prop_assert!(flagged, "{:?}", parsed.flags());
            }
            Err(e) => prop_assert_eq!(e, IdError::BadCharacter { position: position + 1 }),
        }
    }
}

#[test]
fn iso_dates_parse_and_begin_at_midnight_in_china() {
    let d = CalendarDate::parse_iso("2024-01-01").unwrap();
    assert_eq!(d.start_in_china(), 1_704_038_400); // 2023-12-31T16:00:00Z
    assert_eq!(CalendarDate::parse_iso("2000-02-29").unwrap().start_in_china(), 951_782_400 - 8 * 3600);
    assert_eq!(CalendarDate::parse_iso("1970-01-01").unwrap().start_in_china(), -8 * 3600);
    for bad in [
        "2023-02-29",
        "2024-1-01",
        "2024/01/01",
        "",
        "2024-01-0a",
        "+024-01-01",
        "2024-13-01",
        "２０２４-01-01",
    ] {
        assert_eq!(CalendarDate::parse_iso(bad), None, "{bad}");
    }
    // round trip over four centuries of days
    for day in (-20_000..150_000).step_by(7) {
        let t = day * 86_400;
        let date = CalendarDate::from_unix_in_china(t);
        assert_eq!(CalendarDate::parse_iso(&date.to_string()), Some(date));
        assert!((0..86_400).contains(&(t - date.start_in_china())), "{date}");
        assert_eq!(CalendarDate::from_unix_in_china(date.start_in_china()), date);
        assert!(CalendarDate::from_unix_in_china(date.start_in_china() - 1) < date);
    }
}

#[test]
fn utc_dates_and_rfc3339() {
    assert_eq!(CalendarDate::from_unix_utc(1_704_038_399).to_string(), "2023-12-31");
    assert_eq!(CalendarDate::from_unix_utc(-1).to_string(), "1969-12-31");
    assert_eq!(CalendarDate::rfc3339_utc(1_795_830_000), "2026-11-28T01:40:00Z");
    assert_eq!(CalendarDate::rfc3339_utc(951_782_399), "2000-02-28T23:59:59Z");
}
