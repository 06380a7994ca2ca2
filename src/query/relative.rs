//! Relative time ranges as Superset writes them (`Last week`, `previous calendar month`,
//! `Current year`, `Last 30 days`, `DATEADD(DATETIME("today"), -7, day) : today`, …),
//! resolved against a moment given by the caller into explicit bounds: inclusive start,
//! exclusive end.
//!
//! The forms and their meaning follow Superset's `get_since_until`: a range without ` : `
//! starting with `Last` ends today (midnight), one starting with `Next` starts today;
//! `previous calendar …` and `Current …` are whole periods; each side of `A : B` is empty
//! (open), a date or time, `today`, `now`, `yesterday`, `tomorrow`, `N units ago`,
//! `N units later`, `Last …`/`Next …`, or an expression of `DATETIME`, `DATEADD` and
//! `DATETRUNC`. Weeks start on Monday; a quarter is three months. The moment is whatever the
//! caller passes (vizier uses UTC).

use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime, Timelike};

/// A range resolved at a moment: each bound `None` when open.
pub type Bounds = (Option<NaiveDateTime>, Option<NaiveDateTime>);

/// The forms accepted, for error messages.
pub const FORMS: &str = "Last day|week|month|quarter|year, Last N days (seconds … years), \
Next N days, previous calendar week|month|quarter|year, Current day|week|month|quarter|year, \
or START : END where each side is empty, a date, today, now, yesterday, tomorrow, \
'N days ago', 'N days later', or DATEADD/DATETRUNC/DATETIME expressions";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Unit {
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

fn unit(s: &str) -> Option<Unit> {
    let s = s.trim().to_ascii_lowercase();
    let s = s.strip_suffix('s').unwrap_or(&s);
    Some(match s {
        "second" => Unit::Second,
        "minute" => Unit::Minute,
        "hour" => Unit::Hour,
        "day" => Unit::Day,
        "week" => Unit::Week,
        "month" => Unit::Month,
        "quarter" => Unit::Quarter,
        "year" => Unit::Year,
        _ => return None,
    })
}

/// `t` moved by `n` units (months clamp to the month's last day, as dateutil does).
fn add(t: NaiveDateTime, n: i64, u: Unit) -> Option<NaiveDateTime> {
    let months = |m: i64| -> Option<NaiveDateTime> {
        let m32 = u32::try_from(m.unsigned_abs()).ok()?;
        if m >= 0 {
            t.checked_add_months(Months::new(m32))
        } else {
            t.checked_sub_months(Months::new(m32))
        }
    };
    match u {
        Unit::Second => t.checked_add_signed(Duration::try_seconds(n)?),
        Unit::Minute => t.checked_add_signed(Duration::try_minutes(n)?),
        Unit::Hour => t.checked_add_signed(Duration::try_hours(n)?),
        Unit::Day => t.checked_add_signed(Duration::try_days(n)?),
        Unit::Week => t.checked_add_signed(Duration::try_weeks(n)?),
        Unit::Month => months(n),
        Unit::Quarter => months(n.checked_mul(3)?),
        Unit::Year => months(n.checked_mul(12)?),
    }
}

/// The start of the `u` period holding `t`.
fn trunc(t: NaiveDateTime, u: Unit) -> Option<NaiveDateTime> {
    let d = t.date();
    let day = |d: NaiveDate| d.and_hms_opt(0, 0, 0);
    match u {
        Unit::Second => t.with_nanosecond(0),
        Unit::Minute => t.date().and_hms_opt(t.time().hour(), t.time().minute(), 0),
        Unit::Hour => t.date().and_hms_opt(t.time().hour(), 0, 0),
        Unit::Day => day(d),
        Unit::Week => day(d - Duration::days(i64::from(d.weekday().num_days_from_monday()))),
        Unit::Month => day(d.with_day(1)?),
        Unit::Quarter => day(NaiveDate::from_ymd_opt(
            d.year(),
            (d.month0() / 3) * 3 + 1,
            1,
        )?),
        Unit::Year => day(NaiveDate::from_ymd_opt(d.year(), 1, 1)?),
    }
}

/// Resolve `text` at `now`; `None` when it is not a form this module knows.
pub fn resolve(text: &str, now: NaiveDateTime) -> Option<Bounds> {
    // `START : ` and ` : END` (an open side) keep their separator through the trim.
    let spaced = format!(" {text} ");
    let text = if spaced.contains(" : ") {
        spaced.as_str()
    } else {
        text.trim()
    };
    let today = trunc(now, Unit::Day)?;
    let lower = text.trim().to_ascii_lowercase();
    if lower.is_empty() || lower == "no filter" {
        return Some((None, None));
    }
    if !text.contains(" : ") {
        let text = text.trim();
        if lower.starts_with("last") {
            return Some((Some(side(text, now, today)?), Some(today)));
        }
        if lower.starts_with("next") {
            return Some((Some(today), Some(side(text, now, today)?)));
        }
        if let Some(rest) = lower.strip_prefix("previous calendar ") {
            let u = unit(rest)?;
            let this = trunc(today, u)?;
            return Some((Some(add(this, -1, u)?), Some(this)));
        }
        if let Some(rest) = lower.strip_prefix("current ") {
            let u = unit(rest)?;
            let this = trunc(today, u)?;
            return Some((Some(this), Some(add(this, 1, u)?)));
        }
        return None;
    }
    let (a, b) = text.split_once(" : ")?;
    let bound = |s: &str| -> Option<Option<NaiveDateTime>> {
        if s.trim().is_empty() {
            Some(None)
        } else {
            side(s, now, today).map(Some)
        }
    };
    Some((bound(a)?, bound(b)?))
}

/// One side of a range: a point in time.
fn side(s: &str, now: NaiveDateTime, today: NaiveDateTime) -> Option<NaiveDateTime> {
    let s = s.trim();
    let lower = s.to_ascii_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    // `last|prior|next|this [N] unit`: seconds, minutes and hours count from now, longer
    // units from today (midnight), as Superset's relative base does.
    let base = |u: Unit| {
        if matches!(u, Unit::Second | Unit::Minute | Unit::Hour) {
            now
        } else {
            today
        }
    };
    let scoped = |scope: &str, n: i64, u: &str| -> Option<NaiveDateTime> {
        let u = unit(u)?;
        match scope {
            "last" | "prior" => add(base(u), -n, u),
            "next" => add(base(u), n, u),
            "this" => Some(base(u)),
            _ => None,
        }
    };
    match words.as_slice() {
        [scope @ ("last" | "prior" | "next" | "this"), u] => return scoped(scope, 1, u),
        [scope @ ("last" | "prior" | "next" | "this"), n, u] => {
            return scoped(scope, n.parse::<i64>().ok()?, u);
        }
        [n, u, "ago"] => return add(now, -n.parse::<i64>().ok()?, unit(u)?),
        [n, u, "later"] => return add(now, n.parse::<i64>().ok()?, unit(u)?),
        _ => {}
    }
    if lower.starts_with("datetime")
        || lower.starts_with("dateadd")
        || lower.starts_with("datetrunc")
    {
        let mut p = Expr {
            s: s.as_bytes(),
            i: 0,
            now,
            today,
        };
        let t = p.point()?;
        p.ws();
        return (p.i == p.s.len()).then_some(t);
    }
    word(&lower, now, today)
}

/// `today`, `now`, `yesterday`, `tomorrow`, or a date or time.
fn word(lower: &str, now: NaiveDateTime, today: NaiveDateTime) -> Option<NaiveDateTime> {
    match lower {
        "today" => Some(today),
        "now" => Some(now),
        "yesterday" => add(today, -1, Unit::Day),
        "tomorrow" => add(today, 1, Unit::Day),
        other => super::list::parse_time(other.trim()),
    }
}

/// A recursive-descent reader of `DATETIME("…")`, `DATEADD(point, n, unit)` and
/// `DATETRUNC(point, unit)`.
struct Expr<'a> {
    s: &'a [u8],
    i: usize,
    now: NaiveDateTime,
    today: NaiveDateTime,
}

impl Expr<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        (self.s.get(self.i) == Some(&c)).then(|| self.i += 1)
    }

    fn ident(&mut self) -> String {
        self.ws();
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-' || *c == b'+')
        {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.i]).to_ascii_lowercase()
    }

    fn quoted(&mut self) -> Option<String> {
        self.ws();
        let q = *self.s.get(self.i)?;
        if q != b'"' && q != b'\'' {
            return None;
        }
        let start = self.i + 1;
        let end = start + self.s.get(start..)?.iter().position(|c| *c == q)?;
        self.i = end + 1;
        Some(String::from_utf8_lossy(&self.s[start..end]).into_owned())
    }

    fn point(&mut self) -> Option<NaiveDateTime> {
        match self.ident().as_str() {
            "datetime" => {
                self.eat(b'(')?;
                let inner = self.quoted()?;
                self.eat(b')')?;
                let lower = inner.trim().to_ascii_lowercase();
                let words: Vec<&str> = lower.split_whitespace().collect();
                match words.as_slice() {
                    [n, u, "ago"] => add(self.now, -n.parse::<i64>().ok()?, unit(u)?),
                    [n, u, "later"] => add(self.now, n.parse::<i64>().ok()?, unit(u)?),
                    _ => word(&lower, self.now, self.today),
                }
            }
            "dateadd" => {
                self.eat(b'(')?;
                let t = self.point()?;
                self.eat(b',')?;
                let n: i64 = self.ident().parse().ok()?;
                self.eat(b',')?;
                let u = unit(&self.ident())?;
                self.eat(b')')?;
                add(t, n, u)
            }
            "datetrunc" => {
                self.eat(b'(')?;
                let t = self.point()?;
                self.eat(b',')?;
                let u = unit(&self.ident())?;
                self.eat(b')')?;
                trunc(t, u)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        super::super::list::parse_time(s).expect("a time")
    }

    fn r(text: &str) -> (String, String) {
        // A Wednesday afternoon.
        let (a, b) = resolve(text, at("2024-05-15 13:45:10")).expect(text);
        let f = |t: Option<NaiveDateTime>| t.map_or(String::new(), |t| t.to_string());
        (f(a), f(b))
    }

    #[test]
    fn last_periods_end_today_at_midnight() {
        assert_eq!(
            r("Last day"),
            ("2024-05-14 00:00:00".into(), "2024-05-15 00:00:00".into())
        );
        assert_eq!(r("Last week").0, "2024-05-08 00:00:00");
        assert_eq!(r("last month").0, "2024-04-15 00:00:00");
        assert_eq!(r("Last quarter").0, "2024-02-15 00:00:00");
        assert_eq!(r("Last year").0, "2023-05-15 00:00:00");
        assert_eq!(r("Last 30 days").0, "2024-04-15 00:00:00");
        assert_eq!(r("Last 2 weeks").0, "2024-05-01 00:00:00");
        // Short units count from now.
        assert_eq!(
            r("Last 3 hours"),
            ("2024-05-15 10:45:10".into(), "2024-05-15 00:00:00".into())
        );
        assert_eq!(
            r("prior 2 days : this day"),
            ("2024-05-13 00:00:00".into(), "2024-05-15 00:00:00".into())
        );
    }

    #[test]
    fn calendar_periods_are_whole() {
        assert_eq!(
            r("previous calendar week"),
            ("2024-05-06 00:00:00".into(), "2024-05-13 00:00:00".into())
        );
        assert_eq!(
            r("previous calendar month"),
            ("2024-04-01 00:00:00".into(), "2024-05-01 00:00:00".into())
        );
        assert_eq!(
            r("previous calendar quarter"),
            ("2024-01-01 00:00:00".into(), "2024-04-01 00:00:00".into())
        );
        assert_eq!(
            r("previous calendar year"),
            ("2023-01-01 00:00:00".into(), "2024-01-01 00:00:00".into())
        );
        assert_eq!(
            r("Current month"),
            ("2024-05-01 00:00:00".into(), "2024-06-01 00:00:00".into())
        );
        assert_eq!(
            r("Current week"),
            ("2024-05-13 00:00:00".into(), "2024-05-20 00:00:00".into())
        );
    }

    #[test]
    fn advanced_sides() {
        assert_eq!(
            r("DATEADD(DATETIME(\"today\"), -7, day) : today"),
            ("2024-05-08 00:00:00".into(), "2024-05-15 00:00:00".into())
        );
        assert_eq!(
            r("DATETRUNC(DATETIME('now'), month) : "),
            ("2024-05-01 00:00:00".into(), String::new())
        );
        assert_eq!(
            r("2024-01-01 : now"),
            ("2024-01-01 00:00:00".into(), "2024-05-15 13:45:10".into())
        );
        assert_eq!(r("7 days ago : ").0, "2024-05-08 13:45:10");
        assert_eq!(r("No filter"), (String::new(), String::new()));
        // Month ends clamp.
        assert_eq!(
            resolve("Last month", at("2024-03-31 10:00:00"))
                .expect("range")
                .0
                .map(|t| t.to_string()),
            Some("2024-02-29 00:00:00".into())
        );
    }

    #[test]
    fn unknown_forms_are_refused() {
        for bad in [
            "Last fortnight",
            "sometime",
            "DATEADD(DATETIME(\"today\"), x, day) : today",
            "DATEADD(DATETIME(\"today\"), -7, day) trailing : today",
            "previous calendar decade",
            "DATETIME(\"today\" : now",
        ] {
            assert!(resolve(bad, at("2024-05-15 13:45:10")).is_none(), "{bad}");
        }
    }

    #[test]
    fn arbitrary_text_never_panics() {
        let mut rng = crate::sql::test_support::Rng::new(7);
        let alphabet: Vec<char> = "DATEADD(TRUNC\"'today now, -1 day:) 0123456789 last Next ca"
            .chars()
            .collect();
        for _ in 0..5_000 {
            let n = rng.below(40);
            let s: String = (0..n)
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect();
            let _ = resolve(&s, at("2024-05-15 13:45:10"));
        }
    }
}
