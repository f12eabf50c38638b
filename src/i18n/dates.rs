//! Dates and times in a language's conventions, from its messages: the names of weekdays and
//! months (`weekday`, `month`), the order of a full date (`date-full`), the clock
//! (`time-pattern`, a CLDR pattern of `H` or `HH` and `mm`) and how a date and a time join
//! (`date-time`). Checked against ICU's full date and short time in `tests/it/i18n.rs`.

use jiff::civil::{Date, DateTime, Time, Weekday};

use super::{Arg, Lang};

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn weekday_key(w: Weekday) -> &'static str {
    match w {
        Weekday::Monday => "monday",
        Weekday::Tuesday => "tuesday",
        Weekday::Wednesday => "wednesday",
        Weekday::Thursday => "thursday",
        Weekday::Friday => "friday",
        Weekday::Saturday => "saturday",
        Weekday::Sunday => "sunday",
    }
}

impl Lang {
    /// "Thursday, 17 November 2022", "jeudi 17 novembre 2022", "jueves, 17 de noviembre de
    /// 2022" (CLDR's full date).
    pub fn full_date(self, d: Date) -> String {
        let weekday = self.format("weekday", &[("day", Arg::Str(weekday_key(d.weekday())))]);
        let month_key = usize::try_from(d.month() - 1).map_or("january", |i| MONTHS[i]);
        let month = self.format("month", &[("month", Arg::Str(month_key))]);
        let (day, year) = (d.day().to_string(), d.year().to_string());
        self.format(
            "date-full",
            &[
                ("weekday", Arg::Str(&weekday)),
                ("day", Arg::Str(&day)),
                ("month", Arg::Str(&month)),
                ("year", Arg::Str(&year)),
            ],
        )
    }

    /// "15:00", or "9:05" in Spanish (CLDR's short time: 24 hours everywhere we write).
    pub fn short_time(self, t: Time) -> String {
        let pattern = self.text("time-pattern");
        let hour = if pattern.starts_with("HH") { format!("{:02}", t.hour()) } else { t.hour().to_string() };
        format!("{hour}:{:02}", t.minute())
    }

    /// A date and the time a span starts: "Thursday, 17 November 2022, 15:00".
    pub fn date_time(self, dt: DateTime) -> String {
        let (date, time) = (self.full_date(dt.date()), self.short_time(dt.time()));
        self.format("date-time", &[("date", Arg::Str(&date)), ("time", Arg::Str(&time))])
    }
}
