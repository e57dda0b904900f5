//! Today's date for the report, from the system clock (UTC), without a date library.

use std::time::{SystemTime, UNIX_EPOCH};

/// Today as `YYYY-MM-DD` (UTC).
#[must_use]
pub fn today() -> String {
    let seconds = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs());
    date_of_day(seconds / 86_400)
}

/// The date `days` days after 1970-01-01, as `YYYY-MM-DD` (the proleptic Gregorian calendar).
#[must_use]
pub fn date_of_day(days: u64) -> String {
    // Howard Hinnant's civil_from_days, for days on or after the epoch.
    let shifted = days + 719_468;
    let era = shifted / 146_097;
    let day_of_era = shifted - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(date_of_day(0), "1970-01-01");
        assert_eq!(date_of_day(59), "1970-03-01");
        assert_eq!(date_of_day(11_016), "2000-02-29");
        assert_eq!(date_of_day(20_782), "2026-11-25");
        assert_eq!(date_of_day(20_818), "2026-12-31");
        assert_eq!(date_of_day(20_819), "2027-01-01");
    }

    #[test]
    fn today_is_well_formed() {
        let today = today();
        assert_eq!(today.len(), 10);
        assert_eq!((&today[4..5], &today[7..8]), ("-", "-"));
    }
}
