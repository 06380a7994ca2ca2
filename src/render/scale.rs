//! Where ticks go: "nice" numeric ticks (1, 2 or 5 × 10^k, as d3 does), calendar-aware
//! time ticks, labels for time categories, and the linear map from data to pixels.
//!
//! Shared by the SVG and ASCII renderers so both show the same ticks; turning a value into
//! text is [`super::format`]'s job.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};

/// A linear map from a data interval to a pixel (or cell) interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Linear {
    pub d0: f64,
    pub d1: f64,
    pub r0: f64,
    pub r1: f64,
}

impl Linear {
    pub fn new(domain: (f64, f64), range: (f64, f64)) -> Self {
        Self {
            d0: domain.0,
            d1: domain.1,
            r0: range.0,
            r1: range.1,
        }
    }

    pub fn map(&self, v: f64) -> f64 {
        let span = self.d1 - self.d0;
        if span == 0.0 {
            return (self.r0 + self.r1) / 2.0;
        }
        self.r0 + (v - self.d0) / span * (self.r1 - self.r0)
    }
}

/// Nice numeric ticks over a domain that has been widened to whole steps.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticks {
    pub lo: f64,
    pub hi: f64,
    pub step: f64,
    pub values: Vec<f64>,
}

/// How many ticks fit along `length` pixels when each wants about `spacing` pixels.
pub fn tick_count(length: f64, spacing: f64) -> usize {
    ((length / spacing.max(1.0)).round() as usize).clamp(2, 10)
}

/// The step, a power of ten times 1, 2 or 5, that splits `span` into about `count` parts.
pub fn tick_step(span: f64, count: usize) -> f64 {
    let raw = span.abs() / count.max(1) as f64;
    if raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let power = raw.log10().floor();
    let error = raw / 10f64.powf(power);
    let factor = if error >= 50f64.sqrt() {
        10.0
    } else if error >= 10f64.sqrt() {
        5.0
    } else if error >= 2f64.sqrt() {
        2.0
    } else {
        1.0
    };
    // Dividing by an exact power of ten keeps 0.1-style steps exact enough to print.
    if power < 0.0 {
        factor / 10f64.powf(-power)
    } else {
        factor * 10f64.powf(power)
    }
}

/// The tick at index `i` of `step`, computed so that 0.1 × 3 prints as 0.3.
fn tick_at(i: f64, step: f64) -> f64 {
    if step < 1.0 {
        let inv = (1.0 / step).round();
        i / inv
    } else {
        i * step
    }
}

/// Nice ticks covering `[lo, hi]`: the domain is extended outwards to whole steps.
/// `min_step` stops steps finer than the number format can show (e.g. 0.5 with `,d`).
pub fn nice_ticks(lo: f64, hi: f64, count: usize, min_step: Option<f64>) -> Ticks {
    let (mut lo, mut hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    if !lo.is_finite() || !hi.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if lo == hi {
        // A flat series still needs an axis: open a window around the value.
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        if lo >= 0.0 && lo - pad < 0.0 {
            hi += pad;
            lo = 0.0;
        } else {
            lo -= pad;
            hi += pad;
        }
    }
    let mut step = tick_step(hi - lo, count);
    // Widening the domain can change the best step; d3 iterates the same way.
    for _ in 0..3 {
        if let Some(m) = min_step {
            step = step.max(m);
        }
        let nlo = (lo / step).floor() * step;
        let nhi = (hi / step).ceil() * step;
        let next = tick_step(nhi - nlo, count);
        lo = nlo;
        hi = nhi;
        if next == step {
            break;
        }
        step = next;
    }
    if let Some(m) = min_step {
        step = step.max(m);
    }
    let i0 = (lo / step).floor();
    let i1 = (hi / step).ceil();
    let values: Vec<f64> = (0..=((i1 - i0) as i64).clamp(0, 1000))
        .map(|k| tick_at(i0 + k as f64, step))
        .collect();
    Ticks {
        lo: tick_at(i0, step),
        hi: tick_at(i1, step),
        step,
        values,
    }
}

/// Calendar units for time ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TimeUnit {
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl TimeUnit {
    /// Approximate length in seconds, used only to choose an interval.
    fn seconds(self) -> f64 {
        match self {
            TimeUnit::Second => 1.0,
            TimeUnit::Minute => 60.0,
            TimeUnit::Hour => 3600.0,
            TimeUnit::Day => 86400.0,
            TimeUnit::Week => 7.0 * 86400.0,
            TimeUnit::Month => 30.44 * 86400.0,
            TimeUnit::Year => 365.25 * 86400.0,
        }
    }
}

/// One time tick: the instant, its label, and a second line giving context (the year under
/// the first month of each year, the date under the first hour of each day).
#[derive(Debug, Clone, PartialEq)]
pub struct TimeTick {
    pub at: NaiveDateTime,
    pub label: String,
    pub context: Option<String>,
}

impl TimeTick {
    /// Label and context on one line, for terminals.
    pub fn one_line(&self) -> String {
        match &self.context {
            Some(c) => format!("{} {}", self.label, c),
            None => self.label.clone(),
        }
    }
}

const INTERVALS: [(TimeUnit, u32); 19] = [
    (TimeUnit::Second, 1),
    (TimeUnit::Second, 5),
    (TimeUnit::Second, 15),
    (TimeUnit::Second, 30),
    (TimeUnit::Minute, 1),
    (TimeUnit::Minute, 5),
    (TimeUnit::Minute, 15),
    (TimeUnit::Minute, 30),
    (TimeUnit::Hour, 1),
    (TimeUnit::Hour, 3),
    (TimeUnit::Hour, 6),
    (TimeUnit::Hour, 12),
    (TimeUnit::Day, 1),
    (TimeUnit::Day, 2),
    (TimeUnit::Week, 1),
    (TimeUnit::Week, 2),
    (TimeUnit::Month, 1),
    (TimeUnit::Month, 3),
    (TimeUnit::Month, 6),
];

/// Seconds since the epoch of a naive instant (as f64, for scales).
pub fn time_value(t: NaiveDateTime) -> f64 {
    t.and_utc().timestamp_millis() as f64 / 1000.0
}

fn from_seconds(s: i64) -> Option<NaiveDateTime> {
    chrono::DateTime::from_timestamp(s, 0).map(|d| d.naive_utc())
}

/// Chooses the calendar interval giving at most `max_count` ticks over `[lo, hi]`, never
/// finer than the data's own grain (daily data gets no 12-hour ticks).
pub fn time_interval(
    lo: NaiveDateTime,
    hi: NaiveDateTime,
    max_count: usize,
    grain: Grain,
) -> (TimeUnit, u32) {
    let span = (time_value(hi) - time_value(lo)).abs();
    let max_count = max_count.max(1) as f64;
    let finest = match grain {
        Grain::Year => TimeUnit::Year.seconds(),
        Grain::Quarter | Grain::Month => TimeUnit::Month.seconds(),
        Grain::Day => TimeUnit::Day.seconds(),
        Grain::Instant => 0.0,
    };
    for (unit, step) in INTERVALS {
        let length = unit.seconds() * f64::from(step);
        if length >= finest && span / length <= max_count {
            return (unit, step);
        }
    }
    // Years: a nice multiple (1, 2, 5, 10, 20, 50…) that fits.
    let years = span / TimeUnit::Year.seconds();
    let step = tick_step(years, max_count as usize).max(1.0);
    let step = if years / step > max_count {
        step * 2.0
    } else {
        step
    };
    (TimeUnit::Year, step as u32)
}

/// Time ticks inside `[lo, hi]` at calendar boundaries, at most about `max_count`, no
/// finer than `grain` (see [`grain_of`]).
pub fn time_ticks(
    lo: NaiveDateTime,
    hi: NaiveDateTime,
    max_count: usize,
    grain: Grain,
) -> Vec<TimeTick> {
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    let (unit, step) = time_interval(lo, hi, max_count, grain);
    let instants = boundaries(lo, hi, unit, step);
    label_times(&instants, unit)
}

/// Calendar boundaries of `step` units within `[lo, hi]`.
fn boundaries(
    lo: NaiveDateTime,
    hi: NaiveDateTime,
    unit: TimeUnit,
    step: u32,
) -> Vec<NaiveDateTime> {
    let mut out = Vec::new();
    let step = step.max(1);
    match unit {
        TimeUnit::Second | TimeUnit::Minute | TimeUnit::Hour | TimeUnit::Day => {
            // Naive time has no zone, so these units divide the epoch evenly.
            let d = (unit.seconds() as i64) * i64::from(step);
            let lo_s = lo.and_utc().timestamp();
            let hi_s = hi.and_utc().timestamp();
            let mut s = lo_s.div_euclid(d) * d;
            if s < lo_s {
                s += d;
            }
            while s <= hi_s && out.len() < 1000 {
                if let Some(t) = from_seconds(s) {
                    out.push(t);
                }
                s += d;
            }
        }
        TimeUnit::Week => {
            let mut day = lo.date();
            if lo.time() != chrono::NaiveTime::MIN {
                day += Duration::days(1);
            }
            while day.weekday() != chrono::Weekday::Mon
                || (step > 1 && day.num_days_from_ce().rem_euclid(7 * step as i32) != 1)
            {
                day += Duration::days(1);
            }
            while day.and_time(chrono::NaiveTime::MIN) <= hi && out.len() < 1000 {
                out.push(day.and_time(chrono::NaiveTime::MIN));
                day += Duration::weeks(i64::from(step));
            }
        }
        TimeUnit::Month => {
            let step = step as i32;
            let mut m = lo.year() * 12 + lo.month0() as i32;
            let first = month_start(m);
            if first.is_some_and(|f| f < lo) {
                m += 1;
            }
            m += (step - m.rem_euclid(step)) % step;
            while let Some(t) = month_start(m) {
                if t > hi || out.len() >= 1000 {
                    break;
                }
                out.push(t);
                m += step;
            }
        }
        TimeUnit::Year => {
            let step = step as i32;
            let mut y = lo.year();
            if year_start(y).is_some_and(|f| f < lo) {
                y += 1;
            }
            y += (step - y.rem_euclid(step)) % step;
            while let Some(t) = year_start(y) {
                if t > hi || out.len() >= 1000 {
                    break;
                }
                out.push(t);
                y += step;
            }
        }
    }
    out
}

fn month_start(m: i32) -> Option<NaiveDateTime> {
    NaiveDate::from_ymd_opt(m.div_euclid(12), m.rem_euclid(12) as u32 + 1, 1)
        .map(|d| d.and_time(chrono::NaiveTime::MIN))
}

fn year_start(y: i32) -> Option<NaiveDateTime> {
    NaiveDate::from_ymd_opt(y, 1, 1).map(|d| d.and_time(chrono::NaiveTime::MIN))
}

/// Labels for ticks of one unit, with context where the larger unit changes.
fn label_times(instants: &[NaiveDateTime], unit: TimeUnit) -> Vec<TimeTick> {
    let mut out = Vec::with_capacity(instants.len());
    let mut last_context: Option<String> = None;
    for t in instants {
        let (label, context) = match unit {
            TimeUnit::Year => (t.format("%Y").to_string(), None),
            TimeUnit::Month => (t.format("%b").to_string(), Some(t.format("%Y").to_string())),
            TimeUnit::Week | TimeUnit::Day => (
                t.format("%b %-d").to_string(),
                Some(t.format("%Y").to_string()),
            ),
            TimeUnit::Hour | TimeUnit::Minute => (
                t.format("%H:%M").to_string(),
                Some(t.format("%b %-d").to_string()),
            ),
            TimeUnit::Second => (
                t.format("%H:%M:%S").to_string(),
                Some(t.format("%b %-d").to_string()),
            ),
        };
        // Context is printed only when it changes, so "2024" appears once per year.
        let context = match context {
            Some(c) if last_context.as_deref() != Some(c.as_str()) => {
                last_context = Some(c.clone());
                Some(c)
            }
            _ => None,
        };
        out.push(TimeTick {
            at: *t,
            label,
            context,
        });
    }
    out
}

/// The calendar grain of a list of instants, for labelling them as categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grain {
    Year,
    Quarter,
    Month,
    Day,
    Instant,
}

/// The coarsest grain that describes every instant (all on Jan 1 → years, …).
pub fn grain_of(times: &[NaiveDateTime]) -> Grain {
    let midnight = times.iter().all(|t| t.time() == chrono::NaiveTime::MIN);
    if !midnight {
        return Grain::Instant;
    }
    if !times.iter().all(|t| t.day() == 1) {
        return Grain::Day;
    }
    if times.iter().all(|t| t.month() == 1) {
        return Grain::Year;
    }
    if times.len() > 1 && times.iter().all(|t| t.month0() % 3 == 0) {
        return Grain::Quarter;
    }
    Grain::Month
}

/// Labels for instants shown as categories (bars over time): "2024", "Q1 2024", "Jan 2024",
/// "Mar 4" (with the year when the data spans several years), or date and time.
pub fn time_category_labels(times: &[NaiveDateTime]) -> Vec<String> {
    let grain = grain_of(times);
    let one_year = times
        .first()
        .is_some_and(|f| times.iter().all(|t| t.year() == f.year()));
    times
        .iter()
        .map(|t| match grain {
            Grain::Year => t.format("%Y").to_string(),
            Grain::Quarter => format!("Q{} {}", t.month0() / 3 + 1, t.year()),
            Grain::Month => t.format("%b %Y").to_string(),
            Grain::Day if one_year => t.format("%b %-d").to_string(),
            Grain::Day => t.format("%Y-%m-%d").to_string(),
            Grain::Instant if one_year => t.format("%b %-d %H:%M").to_string(),
            Grain::Instant => t.format("%Y-%m-%d %H:%M").to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(y: i32, m: u32, d: u32, h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap()
    }

    #[test]
    fn nice_ticks_are_round() {
        let t = nice_ticks(0.0, 97.0, 5, None);
        assert_eq!(t.values, vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        let t = nice_ticks(0.0, 1.0, 10, None);
        assert_eq!(t.step, 0.1);
        assert_eq!(t.values[3], 0.3);
        let t = nice_ticks(-23.0, 48.0, 6, None);
        assert_eq!((t.lo, t.hi, t.step), (-30.0, 50.0, 10.0));
        assert!(t.values.contains(&0.0));
        let t = nice_ticks(1_234.0, 987_654.0, 5, None);
        assert_eq!(t.step, 200_000.0);
        assert_eq!((t.lo, t.hi), (0.0, 1_000_000.0));
        let t = nice_ticks(0.001, 0.0047, 5, None);
        assert_eq!(t.step, 0.001);
    }

    #[test]
    fn nice_ticks_handle_flat_and_bounded_steps() {
        let t = nice_ticks(5.0, 5.0, 5, None);
        assert!(t.lo <= 4.5 && t.hi >= 5.5, "{t:?}");
        let t = nice_ticks(0.0, 0.0, 5, None);
        assert_eq!((t.lo, t.hi), (0.0, 1.0));
        let t = nice_ticks(0.0, 3.0, 10, Some(1.0));
        assert_eq!(t.step, 1.0);
        for step in [1.0, 2.0, 5.0, 10.0] {
            assert!(tick_step(10.0 * step, 10) == step);
        }
    }

    #[test]
    fn date_ticks_follow_the_range() {
        // Three days: daily ticks labelled by day, year given once.
        let t = time_ticks(dt(2024, 3, 1, 0), dt(2024, 3, 4, 0), 8, Grain::Day);
        let labels: Vec<_> = t.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["Mar 1", "Mar 2", "Mar 3", "Mar 4"]);
        assert_eq!(t[0].context.as_deref(), Some("2024"));
        assert_eq!(t[1].context, None);
        // Two years: months or quarters, year under each January.
        let t = time_ticks(dt(2023, 1, 1, 0), dt(2024, 12, 1, 0), 10, Grain::Month);
        assert!(
            t.iter().all(|t| t.at.day() == 1 && t.at.month0() % 3 == 0),
            "{t:?}"
        );
        assert_eq!(t[0].one_line(), "Jan 2023");
        assert!(t.iter().any(|t| t.one_line() == "Jan 2024"));
        // Thirty years: whole years at a round step.
        let t = time_ticks(dt(1990, 6, 1, 0), dt(2020, 1, 1, 0), 8, Grain::Instant);
        let years: Vec<i32> = t.iter().map(|t| t.at.year()).collect();
        assert_eq!(years, [1995, 2000, 2005, 2010, 2015, 2020]);
        // One day: hours, with the date as context.
        let t = time_ticks(dt(2024, 5, 2, 0), dt(2024, 5, 2, 23), 8, Grain::Instant);
        assert_eq!(t[0].label, "00:00");
        assert_eq!(t[0].context.as_deref(), Some("May 2"));
        assert!(t.len() <= 8 && t.len() >= 4, "{t:?}");
        // Weeks start on Mondays.
        let t = time_ticks(dt(2024, 1, 1, 0), dt(2024, 2, 20, 0), 8, Grain::Day);
        assert!(
            t.iter().all(|t| t.at.weekday() == chrono::Weekday::Mon),
            "{t:?}"
        );
    }

    #[test]
    fn time_categories_use_the_grain() {
        let months: Vec<_> = (1..=3).map(|m| dt(2024, m, 1, 0)).collect();
        assert_eq!(
            time_category_labels(&months),
            ["Jan 2024", "Feb 2024", "Mar 2024"]
        );
        let quarters: Vec<_> = [1, 4, 7].iter().map(|m| dt(2024, *m, 1, 0)).collect();
        assert_eq!(
            time_category_labels(&quarters),
            ["Q1 2024", "Q2 2024", "Q3 2024"]
        );
        let years: Vec<_> = [2022, 2023].iter().map(|y| dt(*y, 1, 1, 0)).collect();
        assert_eq!(time_category_labels(&years), ["2022", "2023"]);
        let days = [dt(2024, 3, 4, 0), dt(2024, 3, 5, 0)];
        assert_eq!(time_category_labels(&days), ["Mar 4", "Mar 5"]);
    }
}
