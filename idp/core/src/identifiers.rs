//! Validation of Chinese personal and organisation identifiers (docs/domain.md, "Identifier
//! validation").
//!
//! - Citizen identity numbers, GB 11643-1999: 6-digit region code (GB/T 2260), 8-digit birth
//!   date, 3-digit sequence (odd = male) and a check character by ISO 7064 MOD 11-2. The same
//!   layout and check serve the residence permits for Hong Kong, Macau and Taiwan residents
//!   (region codes 810000, 820000, 830000) and the 2023 foreign permanent resident ID card
//!   (18 digits starting with 9). First-generation 15-digit numbers are converted to 18.
//! - Unified social credit codes, GB 32100-2015, with the embedded GB 11714-1997 organisation
//!   code and its own check.
//!
//! Birth dates are checked against a `today` the caller passes in: nothing here reads the
//! clock. Errors name positions and expected check characters, never the identifier itself,
//! so they may be logged and shown.

use std::fmt;

use thiserror::Error;

#[cfg(test)]
mod tests;

/// Why a string is not a valid identifier. The messages never contain the identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum IdError {
    /// Identity numbers have 18 characters (or 15 for a first-generation number), social
    /// credit codes 18; lengths count characters, not bytes.
    #[error("wrong length: expected {expected} characters, found {found}")]
    WrongLength { expected: usize, found: usize },
    /// The character at this 1-based position is not allowed there.
    #[error("character {position} is not allowed at that position")]
    BadCharacter { position: usize },
    #[error("the birth date is not a real calendar date")]
    ImpossibleBirthDate,
    #[error("the birth date is in the future")]
    BirthDateInFuture,
    #[error("check character mismatch: expected {expected}, found {found}")]
    CheckMismatch { expected: char, found: char },
}

/// A date of the proleptic Gregorian calendar, years 0 to 9999; fields are ordered so that
/// comparison is chronological.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CalendarDate {
    year: u16,
    month: u8,
    day: u8,
}

/// China Standard Time (UTC+8), the time zone of the birth dates on these documents.
const CHINA_UTC_OFFSET_SECONDS: i64 = 8 * 3600;

impl CalendarDate {
    /// The date, if it exists.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Self> {
        let real = year <= 9999 && (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
        real.then_some(Self { year, month, day })
    }

    /// The date in China Standard Time at `unix_seconds` (e.g. `Env::now()`).
    pub fn from_unix_in_china(unix_seconds: i64) -> Self {
        Self::from_days(unix_seconds.saturating_add(CHINA_UTC_OFFSET_SECONDS).div_euclid(86_400))
    }

    /// The date in UTC at `unix_seconds`.
    pub fn from_unix_utc(unix_seconds: i64) -> Self {
        Self::from_days(unix_seconds.div_euclid(86_400))
    }

    /// The date `days` after 1970-01-01 (clamped to years 0–9999).
    fn from_days(days: i64) -> Self {
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(month <= 2);
        match (u16::try_from(y), u8::try_from(month), u8::try_from(day)) {
            (Ok(year), Ok(month), Ok(day)) if year <= 9999 => Self { year, month, day },
            _ if y < 0 => Self { year: 0, month: 1, day: 1 },
            _ => Self { year: 9999, month: 12, day: 31 },
        }
    }

    /// A date written `YYYY-MM-DD` (as an HTML date input sends it), if it exists.
    pub fn parse_iso(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| {
            s.get(r).filter(|d| d.bytes().all(|c| c.is_ascii_digit()))?.parse().ok()
        };
        Self::new(num(0..4)?, u8::try_from(num(5..7)?).ok()?, u8::try_from(num(8..10)?).ok()?)
    }

    /// The Unix time at which this date begins in China Standard Time.
    pub fn start_in_china(self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let (m, d) = (i64::from(self.month), i64::from(self.day));
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        (era * 146_097 + doe - 719_468) * 86_400 - CHINA_UTC_OFFSET_SECONDS
    }

    /// `unix_seconds` as an RFC 3339 date-time in UTC (`2026-11-28T01:40:00Z`).
    pub fn rfc3339_utc(unix_seconds: i64) -> String {
        let secs = unix_seconds.rem_euclid(86_400);
        let date = Self::from_unix_utc(unix_seconds);
        format!("{date}T{:02}:{:02}:{:02}Z", secs / 3600, (secs % 3600) / 60, secs % 60)
    }

    pub fn year(self) -> u16 {
        self.year
    }
    pub fn month(self) -> u8 {
        self.month
    }
    pub fn day(self) -> u8 {
        self.day
    }
}

impl fmt::Display for CalendarDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => 29,
        2 => 28,
        _ => 31,
    }
}

/// Which document a personal identity number belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PersonIdKind {
    /// Resident identity card of the mainland (also for converted 15-digit numbers).
    ResidentIdCard,
    HongKongResidencePermit,
    MacauResidencePermit,
    TaiwanResidencePermit,
    /// Foreign permanent resident ID card, 2023 edition.
    ForeignPermanentResidentCard,
}

impl PersonIdKind {
    /// The `id_type` value of the real-name records and claims; Hong Kong and Macau residence
    /// permits share one.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ResidentIdCard => "resident_id",
            Self::HongKongResidencePermit | Self::MacauResidencePermit => "hk_macau_permit",
            Self::TaiwanResidencePermit => "taiwan_permit",
            Self::ForeignPermanentResidentCard => "foreign_permanent_resident",
        }
    }

    /// Whether `id_type` is one of the values [`Self::as_str`] gives.
    pub fn is_id_type(id_type: &str) -> bool {
        ["resident_id", "hk_macau_permit", "taiwan_permit", "foreign_permanent_resident"].contains(&id_type)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    Male,
    Female,
}

/// Something that does not make a number invalid but deserves a look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdWarning {
    /// The province-level part of the region code is not one that issues these documents.
    /// Only that level is checked: county codes change every year (GB/T 2260).
    UnknownRegion,
}

/// A valid personal identity number. `Debug` shows the number masked.
#[derive(Clone, PartialEq, Eq)]
pub struct PersonId {
    pub kind: PersonIdKind,
    /// The canonical 18-character number (upper-case `X`, 15-digit numbers converted).
    pub number: String,
    pub birth_date: CalendarDate,
    pub sex: Sex,
    /// The input was a first-generation 15-digit number.
    pub converted_from_legacy: bool,
    pub warnings: Vec<IdWarning>,
}

impl fmt::Debug for PersonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersonId")
            .field("kind", &self.kind)
            .field("number", &mask_id_number(&self.number))
            .field("birth_date", &self.birth_date)
            .field("sex", &self.sex)
            .field("converted_from_legacy", &self.converted_from_legacy)
            .field("warnings", &self.warnings)
            .finish()
    }
}

/// Province-level region codes (GB/T 2260) of the mainland, which issue resident identity
/// cards and foreign permanent resident cards.
const ISSUING_PROVINCES: [u32; 31] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54,
    61, 62, 63, 64, 65,
];

const MOD11_2_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const MOD11_2_CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// The ISO 7064 MOD 11-2 check character of the first 17 digits.
fn mod11_2_check(body: &[u32; 17]) -> char {
    let sum: u32 = body.iter().zip(MOD11_2_WEIGHTS).map(|(d, w)| d * w).sum();
    MOD11_2_CHECK[(sum % 11) as usize]
}

/// The decimal value of a run of digits.
fn number(digits: &[u32]) -> u32 {
    digits.iter().fold(0, |n, d| n * 10 + d)
}

/// The digit values of `chars`, whose first character is at 1-based `first_position`.
fn digits(chars: &[char], first_position: usize) -> Result<Vec<u32>, IdError> {
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| c.to_digit(10).ok_or(IdError::BadCharacter { position: first_position + i }))
        .collect()
}

/// Validates a personal identity number, taking today's date from `now` (Unix seconds) in
/// China Standard Time. See [`parse_person_id_on`].
pub fn parse_person_id(input: &str, now: i64) -> Result<PersonId, IdError> {
    parse_person_id_on(input, CalendarDate::from_unix_in_china(now))
}

/// Validates a personal identity number as of `today`: an 18-character number (resident ID,
/// residence permit or foreign permanent resident card; a lower-case `x` is accepted) or a
/// 15-digit first-generation number, which is converted. Checked in order: length, characters,
/// birth date, check character. Surrounding whitespace is not trimmed.
pub fn parse_person_id_on(input: &str, today: CalendarDate) -> Result<PersonId, IdError> {
    let chars: Vec<char> = input.chars().collect();
    let (digits, found_check) = match chars.as_slice() {
        [first17 @ .., last] if chars.len() == 18 => {
            let digits = digits(first17, 1)?;
            let check = match last {
                '0'..='9' => *last,
                'X' | 'x' => 'X',
                _ => return Err(IdError::BadCharacter { position: 18 }),
            };
            (digits, Some(check))
        }
        legacy if legacy.len() == 15 => {
            let old = digits(legacy, 1)?;
            let mut digits = Vec::with_capacity(17);
            digits.extend_from_slice(&old[..6]);
            digits.extend([1, 9]);
            digits.extend_from_slice(&old[6..]);
            (digits, None)
        }
        _ => return Err(IdError::WrongLength { expected: 18, found: chars.len() }),
    };
    let body: [u32; 17] =
        digits.try_into().map_err(|_| IdError::WrongLength { expected: 18, found: chars.len() })?;

    let kind = match body {
        _ if found_check.is_none() => PersonIdKind::ResidentIdCard,
        [9, ..] => PersonIdKind::ForeignPermanentResidentCard,
        [8, 1, 0, 0, 0, 0, ..] => PersonIdKind::HongKongResidencePermit,
        [8, 2, 0, 0, 0, 0, ..] => PersonIdKind::MacauResidencePermit,
        [8, 3, 0, 0, 0, 0, ..] => PersonIdKind::TaiwanResidencePermit,
        _ => PersonIdKind::ResidentIdCard,
    };
    let province = match kind {
        PersonIdKind::ResidentIdCard => Some(number(&body[0..2])),
        // 9, then the province of the issuing authority, then the nationality.
        PersonIdKind::ForeignPermanentResidentCard => Some(number(&body[1..3])),
        _ => None,
    };
    let mut warnings = Vec::new();
    if province.is_some_and(|p| !ISSUING_PROVINCES.contains(&p)) {
        warnings.push(IdWarning::UnknownRegion);
    }

    let (year, month, day) = (number(&body[6..10]), number(&body[10..12]), number(&body[12..14]));
    let birth_date = match (u16::try_from(year), u8::try_from(month), u8::try_from(day)) {
        (Ok(y), Ok(m), Ok(d)) => CalendarDate::new(y, m, d).ok_or(IdError::ImpossibleBirthDate)?,
        _ => return Err(IdError::ImpossibleBirthDate),
    };
    if birth_date > today {
        return Err(IdError::BirthDateInFuture);
    }

    let expected = mod11_2_check(&body);
    if let Some(found) = found_check
        && found != expected
    {
        return Err(IdError::CheckMismatch { expected, found });
    }

    let mut number: String = body.iter().filter_map(|&d| char::from_digit(d, 10)).collect();
    number.push(expected);
    let sex = if body[16] % 2 == 1 { Sex::Male } else { Sex::Female };
    Ok(PersonId { kind, number, birth_date, sex, converted_from_legacy: found_check.is_none(), warnings })
}

/// The number with all but its first four and last four characters replaced by `*`, as in the
/// `id_number_masked` claim (`2201**********0013`). Eight characters or fewer are masked
/// entirely.
pub fn mask_id_number(number: &str) -> String {
    let len = number.chars().count();
    if len <= 8 {
        return "*".repeat(len);
    }
    number.chars().enumerate().map(|(i, c)| if i < 4 || i >= len - 4 { c } else { '*' }).collect()
}

/// The characters of a unified social credit code; a character's value is its index.
const USCC_CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
const ORG_CODE_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// Why a well-formed social credit code needs verification against the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UsccFlag {
    /// The 18th character is not the GB 32100 check character.
    CheckMismatch { expected: char, found: char },
    /// The 17th character is not the GB 11714 check character of the organisation code.
    OrganisationCodeCheckMismatch { expected: char, found: char },
}

/// A well-formed unified social credit code (upper case), with what its checks found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uscc {
    code: String,
    flags: Vec<UsccFlag>,
}

impl Uscc {
    /// The 18-character code in upper case.
    pub fn code(&self) -> &str {
        &self.code
    }
    /// Empty when both check characters are right.
    pub fn flags(&self) -> &[UsccFlag] {
        &self.flags
    }
    /// A check failed: some early pilot codes do, so ask the registry rather than refuse.
    pub fn needs_registry_verification(&self) -> bool {
        !self.flags.is_empty()
    }
    /// Character 1: the registration authority (e.g. 9 for market regulation).
    pub fn registration_authority(&self) -> char {
        self.code.chars().next().unwrap_or_default()
    }
    /// Character 2: the kind of entity within the authority.
    pub fn entity_category(&self) -> char {
        self.code.chars().nth(1).unwrap_or_default()
    }
    /// Characters 3-8: the region code of the registration authority.
    pub fn region_code(&self) -> &str {
        self.code.get(2..8).unwrap_or_default()
    }
    /// Characters 9-17: the GB 11714 organisation code, its check character last.
    pub fn organisation_code(&self) -> &str {
        self.code.get(8..17).unwrap_or_default()
    }
}

/// Validates a unified social credit code (lower case is accepted). A wrong length or a
/// character outside the code's alphabet is an error; a wrong check character on an otherwise
/// well-formed code is returned as a [`UsccFlag`].
pub fn parse_uscc(input: &str) -> Result<Uscc, IdError> {
    let found = input.chars().count();
    if found != 18 {
        return Err(IdError::WrongLength { expected: 18, found });
    }
    let mut values = [0u32; 18];
    let mut code = String::with_capacity(18);
    for (i, c) in input.chars().enumerate() {
        let c = c.to_ascii_uppercase();
        let value = USCC_CHARSET.iter().position(|&b| char::from(b) == c);
        values[i] = value.ok_or(IdError::BadCharacter { position: i + 1 })? as u32;
        code.push(c);
    }
    let chars: Vec<char> = code.chars().collect();
    let mut flags = Vec::new();

    let sum: u32 = values.iter().zip(USCC_WEIGHTS).map(|(v, w)| v * w).sum();
    let expected = char::from(USCC_CHARSET[((31 - sum % 31) % 31) as usize]);
    if chars[17] != expected {
        flags.push(UsccFlag::CheckMismatch { expected, found: chars[17] });
    }

    // GB 11714 values letters A=10 to Z=35 over the whole alphabet, unlike GB 32100.
    let org_value = |c: char| c.to_digit(10).unwrap_or_else(|| u32::from(c) - u32::from('A') + 10);
    let sum: u32 = chars[8..16].iter().zip(ORG_CODE_WEIGHTS).map(|(&c, w)| org_value(c) * w).sum();
    let expected = match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        n => char::from_digit(n, 10).unwrap_or('0'),
    };
    if chars[16] != expected {
        flags.push(UsccFlag::OrganisationCodeCheckMismatch { expected, found: chars[16] });
    }
    Ok(Uscc { code, flags })
}
