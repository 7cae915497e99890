//! 统一社会信用代码 — the unified social credit code of GB 32100-2015.
//!
//! 18 characters from the 31-symbol alphabet `0-9A-Y` without `I O S V Z`
//! (values 0–30). Position 1 is the registering authority, 2 the entity
//! category, 3–8 the registration division (GB/T 2260), 9–17 the
//! organisation code and 18 the check character:
//! `31 − (Σ value(cᵢ)·wᵢ mod 31)` with `wᵢ = 3^(i−1) mod 31`, 31 mapping to 0.

use serde::{Deserialize, Serialize};
use std::fmt;

const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// A unified social credit code whose length, alphabet and check character are valid.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub struct CreditCode(String);

/// Why a string is not a valid credit code; messages are in Chinese for end users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    #[error("统一社会信用代码应为18位，实际为{0}位")]
    Length(usize),
    #[error(
        "统一社会信用代码第{position}位字符“{ch}”不合法（不得使用I、O、S、V、Z及小写字母以外的符号）"
    )]
    Character { position: usize, ch: char },
    #[error("统一社会信用代码第3-8位“{0}”不是有效的行政区划代码")]
    Division(String),
    #[error("统一社会信用代码校验位错误：第18位应为“{expected}”，实际为“{actual}”")]
    Check { expected: char, actual: char },
}

fn value_of(ch: char) -> Option<u32> {
    let upper = ch.to_ascii_uppercase();
    ALPHABET
        .iter()
        .position(|&c| c as char == upper)
        .map(|v| v as u32)
}

/// Computes the check character for the first 17 characters (already validated).
pub fn check_char(first17: &[u32; 17]) -> char {
    let sum: u32 = first17.iter().zip(WEIGHTS).map(|(v, w)| v * w).sum();
    let check = (31 - sum % 31) % 31;
    ALPHABET[check as usize] as char
}

impl CreditCode {
    /// Parses a code, accepting lower case and surrounding whitespace.
    pub fn parse(input: &str) -> Result<Self, CreditCodeError> {
        let trimmed = input.trim();
        let chars: Vec<char> = trimmed.chars().collect();
        if chars.len() != 18 {
            return Err(CreditCodeError::Length(chars.len()));
        }
        let mut values = [0u32; 17];
        for (i, &ch) in chars.iter().enumerate() {
            let value = value_of(ch).ok_or(CreditCodeError::Character {
                position: i + 1,
                ch,
            })?;
            if i < 17 {
                values[i] = value;
            }
        }
        let division: String = chars[2..8].iter().collect();
        if !division.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CreditCodeError::Division(division));
        }
        let expected = check_char(&values);
        let actual = chars[17].to_ascii_uppercase();
        if expected != actual {
            return Err(CreditCodeError::Check { expected, actual });
        }
        Ok(Self(trimmed.to_ascii_uppercase()))
    }

    /// Builds a valid code from a 17-character body by appending its check character.
    /// Used by the demo generator; the body must use the code alphabet.
    pub fn from_body(body: &str) -> Result<Self, CreditCodeError> {
        let mut values = [0u32; 17];
        if body.chars().count() != 17 {
            return Err(CreditCodeError::Length(body.chars().count() + 1));
        }
        for (i, ch) in body.chars().enumerate() {
            values[i] = value_of(ch).ok_or(CreditCodeError::Character {
                position: i + 1,
                ch,
            })?;
        }
        Self::parse(&format!("{body}{}", check_char(&values)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The six-digit registration division (positions 3–8).
    pub fn division_digits(&self) -> &str {
        &self.0[2..8]
    }

    /// The registering authority and category (positions 1–2), e.g. `91` 工商·企业.
    pub fn registrant(&self) -> &str {
        &self.0[0..2]
    }
}

/// The alphabet of the code, for generators.
pub fn alphabet() -> &'static [u8; 31] {
    ALPHABET
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CreditCode({})", self.0)
    }
}

impl From<CreditCode> for String {
    fn from(code: CreditCode) -> Self {
        code.0
    }
}

impl<'de> Deserialize<'de> for CreditCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        CreditCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_published_example() {
        let code = CreditCode::parse("91350200776049653A").unwrap();
        assert_eq!(code.division_digits(), "350200");
        assert_eq!(code.registrant(), "91");
    }

    #[test]
    fn accepts_lower_case_and_whitespace() {
        assert_eq!(
            CreditCode::parse(" 91350200776049653a ").unwrap().as_str(),
            "91350200776049653A"
        );
    }

    #[test]
    fn names_the_failing_check() {
        assert_eq!(
            CreditCode::parse("91350200776049653B"),
            Err(CreditCodeError::Check {
                expected: 'A',
                actual: 'B'
            })
        );
    }

    #[test]
    fn names_the_bad_character() {
        assert_eq!(
            CreditCode::parse("9135020077604965IA"),
            Err(CreditCodeError::Character {
                position: 17,
                ch: 'I'
            })
        );
    }

    #[test]
    fn rejects_wrong_length_and_letters_in_division() {
        assert_eq!(CreditCode::parse("913502"), Err(CreditCodeError::Length(6)));
        assert!(matches!(
            CreditCode::parse("91A50200776049653A"),
            Err(CreditCodeError::Division(_))
        ));
    }

    #[test]
    fn check_31_maps_to_zero() {
        // A body whose weighted sum is a multiple of 31 must get check '0'.
        let mut values = [0u32; 17];
        assert_eq!(check_char(&values), '0');
        values[0] = 1;
        assert_eq!(check_char(&values), 'Y'); // 31 - 1 = 30 → 'Y'
    }

    fn body_strategy() -> impl Strategy<Value = String> {
        (
            proptest::collection::vec(0usize..31, 2),
            proptest::collection::vec(0u8..10, 6),
            proptest::collection::vec(0usize..31, 9),
        )
            .prop_map(|(head, div, tail)| {
                let mut s = String::new();
                s.extend(head.iter().map(|&i| ALPHABET[i] as char));
                s.extend(div.iter().map(|d| (b'0' + d) as char));
                s.extend(tail.iter().map(|&i| ALPHABET[i] as char));
                s
            })
    }

    proptest! {
        #[test]
        fn generated_codes_round_trip(body in body_strategy()) {
            let code = CreditCode::from_body(&body).unwrap();
            prop_assert_eq!(CreditCode::parse(code.as_str()).unwrap(), code);
        }

        #[test]
        fn any_single_substitution_is_detected(body in body_strategy(), pos in 0usize..18, delta in 1usize..31) {
            let code = CreditCode::from_body(&body).unwrap();
            let mut chars: Vec<char> = code.as_str().chars().collect();
            let old = ALPHABET.iter().position(|&c| c as char == chars[pos]).unwrap();
            chars[pos] = ALPHABET[(old + delta) % 31] as char;
            let mutated: String = chars.into_iter().collect();
            prop_assert!(CreditCode::parse(&mutated).is_err());
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,30}") {
            let _ = CreditCode::parse(&s);
        }
    }
}
