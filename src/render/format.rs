//! Numbers to text: a d3-format subset ([`NumberFormat::parse`]) and the automatic formats
//! used when a chart has no `y_format` (axis ticks, data labels, table cells).
//!
//! Supported d3 syntax: `[[fill]align][sign][symbol][0][width][,][.precision][~][type]` with
//! types `f e g r s % p d n x X o b` and none; `$` prints a dollar sign (`€`, `£` and `¥`
//! in the symbol position are accepted too, an extension). `s` uses SI prefixes (`k`, `M`,
//! `G`) as d3 does; the automatic format for large values uses business suffixes (`K`,
//! `M`, `B`, `T`) instead, because "1.2G" reads as gigabytes to most people.
//!
//! Where ticks go is in [`super::scale`]; this module only turns a value into a string.

use super::RenderError;

const SI_PREFIXES: [&str; 17] = [
    "y", "z", "a", "f", "p", "n", "µ", "m", "", "k", "M", "G", "T", "P", "E", "Z", "Y",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Right,
    Center,
    /// Padding goes between the sign and the digits.
    SignAware,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sign {
    Minus,
    Plus,
    Space,
    Parens,
}

/// The kind of output, d3's `type` plus one internal kind for fixed-prefix ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    None,
    Fixed,
    Exp,
    General,
    Rounded,
    Si,
    Percent,
    PercentRounded,
    Integer,
    Hex,
    HexUpper,
    Octal,
    Binary,
    /// Every value divided by `10^exponent` with a fixed suffix, so ticks share one unit
    /// ("0.5M, 1.0M, 1.5M"). `si` picks `k/M/G` over `K/M/B`.
    Prefix {
        exponent: i32,
        si: bool,
    },
}

/// A parsed number format.
#[derive(Debug, Clone, PartialEq)]
pub struct NumberFormat {
    fill: char,
    align: Align,
    sign: Sign,
    currency: Option<char>,
    zero: bool,
    width: usize,
    comma: bool,
    precision: Option<usize>,
    trim: bool,
    kind: Kind,
}

impl NumberFormat {
    fn base(kind: Kind) -> Self {
        Self {
            fill: ' ',
            align: Align::Right,
            sign: Sign::Minus,
            currency: None,
            zero: false,
            width: 0,
            comma: false,
            precision: None,
            trim: false,
            kind,
        }
    }

    /// Parses a d3-format specifier such as `"$,.0f"`, `",d"`, `".1%"` or `".3~s"`.
    pub fn parse(spec: &str) -> Result<Self, RenderError> {
        let err = |reason: &str| RenderError::Format {
            spec: spec.to_string(),
            reason: reason.to_string(),
        };
        let chars: Vec<char> = spec.chars().collect();
        let mut f = Self::base(Kind::None);
        let mut i = 0;
        let align_of = |c: char| match c {
            '<' => Some(Align::Left),
            '>' => Some(Align::Right),
            '^' => Some(Align::Center),
            '=' => Some(Align::SignAware),
            _ => None,
        };
        // `[[fill]align]`: a fill character is only a fill when an align follows it.
        if let Some(a) = chars.get(1).and_then(|c| align_of(*c)) {
            f.fill = chars[0];
            f.align = a;
            i = 2;
        } else if let Some(a) = chars.first().and_then(|c| align_of(*c)) {
            f.align = a;
            i = 1;
        }
        if let Some(s) = chars.get(i).and_then(|c| match c {
            '-' => Some(Sign::Minus),
            '+' => Some(Sign::Plus),
            ' ' => Some(Sign::Space),
            '(' => Some(Sign::Parens),
            _ => None,
        }) {
            f.sign = s;
            i += 1;
        }
        match chars.get(i) {
            Some(c @ ('$' | '€' | '£' | '¥')) => {
                f.currency = Some(*c);
                i += 1;
            }
            // `#` (alternate form) only matters for binary/octal/hex prefixes; accepted and ignored.
            Some('#') => i += 1,
            _ => {}
        }
        if chars.get(i) == Some(&'0') {
            f.zero = true;
            f.fill = '0';
            f.align = Align::SignAware;
            i += 1;
        }
        let start = i;
        while chars.get(i).is_some_and(char::is_ascii_digit) {
            i += 1;
        }
        if i > start {
            let digits: String = chars[start..i].iter().collect();
            f.width = digits.parse().map_err(|_| err("width is too large"))?;
            if f.width > 200 {
                return Err(err("width is too large"));
            }
        }
        if chars.get(i) == Some(&',') {
            f.comma = true;
            i += 1;
        }
        if chars.get(i) == Some(&'.') {
            i += 1;
            let start = i;
            while chars.get(i).is_some_and(char::is_ascii_digit) {
                i += 1;
            }
            if i == start {
                return Err(err("a '.' must be followed by a precision"));
            }
            let digits: String = chars[start..i].iter().collect();
            let p: usize = digits.parse().map_err(|_| err("precision is too large"))?;
            if p > 20 {
                return Err(err("precision must be at most 20"));
            }
            f.precision = Some(p);
        }
        if chars.get(i) == Some(&'~') {
            f.trim = true;
            i += 1;
        }
        if let Some(c) = chars.get(i) {
            f.kind = match c {
                'f' => Kind::Fixed,
                'e' => Kind::Exp,
                'g' => Kind::General,
                'r' => Kind::Rounded,
                's' => Kind::Si,
                '%' => Kind::Percent,
                'p' => Kind::PercentRounded,
                'd' => Kind::Integer,
                'x' => Kind::Hex,
                'X' => Kind::HexUpper,
                'o' => Kind::Octal,
                'b' => Kind::Binary,
                'n' => {
                    f.comma = true;
                    Kind::General
                }
                _ => return Err(err(&format!("unknown type '{c}'"))),
            };
            i += 1;
        }
        if i != chars.len() {
            return Err(err("unexpected characters after the type"));
        }
        Ok(f)
    }

    /// `,.{decimals}f`: grouped fixed-point.
    pub fn fixed(decimals: usize) -> Self {
        let mut f = Self::base(Kind::Fixed);
        f.comma = true;
        f.precision = Some(decimals.min(20));
        f
    }

    /// The format for a headline (a donut's total, a gauge's value): a fixed format
    /// without its cents once the value reaches a thousand, as the charts around it show
    /// amounts ("$12,345,678", not "$12,345,678.90").
    pub fn headline(&self, value: f64) -> Self {
        let mut f = self.clone();
        if f.kind == Kind::Fixed && value.abs() >= 1000.0 {
            f.precision = Some(0);
        }
        f
    }

    /// True for formats that print a percentage (the value is a ratio).
    pub fn is_percent(&self) -> bool {
        matches!(self.kind, Kind::Percent | Kind::PercentRounded)
    }

    /// The smallest difference between two values that this format can show, if it is
    /// fixed; ticks closer than this would print the same label twice.
    pub fn resolution(&self) -> Option<f64> {
        match (self.kind, self.precision) {
            (Kind::Integer, _) => Some(1.0),
            (Kind::Fixed, Some(p)) => Some(10f64.powi(-(p as i32))),
            (Kind::Percent, Some(p)) => Some(10f64.powi(-(p as i32) - 2)),
            _ => None,
        }
    }

    /// Formats one value. Non-finite values print as an empty string (they are gaps).
    pub fn format(&self, value: f64) -> String {
        if !value.is_finite() {
            return String::new();
        }
        let negative = value < 0.0;
        let abs = value.abs();
        let (mut digits, suffix) = self.digits(abs);
        if self.trim {
            digits = trim_zeros(&digits);
        }
        // "-0.00" is noise: a value that rounds to zero has no sign (d3 does the same).
        let negative = negative && digits.chars().any(|c| c.is_ascii_digit() && c != '0');
        if self.comma {
            digits = group(&digits);
        }
        let sign = match (negative, self.sign) {
            (true, Sign::Parens) => "(",
            (true, _) => "-",
            (false, Sign::Plus) => "+",
            (false, Sign::Space) => " ",
            _ => "",
        };
        let close = if negative && self.sign == Sign::Parens {
            ")"
        } else {
            ""
        };
        let currency = self.currency.map(String::from).unwrap_or_default();
        let prefix = format!("{sign}{currency}");
        let body = format!("{digits}{suffix}{close}");
        let len = prefix.chars().count() + body.chars().count();
        if len >= self.width {
            return format!("{prefix}{body}");
        }
        let pad: String = std::iter::repeat_n(self.fill, self.width - len).collect();
        match self.align {
            Align::Left => format!("{prefix}{body}{pad}"),
            Align::Right => format!("{pad}{prefix}{body}"),
            Align::SignAware => format!("{prefix}{pad}{body}"),
            Align::Center => {
                let half = pad.chars().count() / 2;
                let (l, r): (String, String) = (
                    pad.chars().take(half).collect(),
                    pad.chars().skip(half).collect(),
                );
                format!("{l}{prefix}{body}{r}")
            }
        }
    }

    /// Digits (without sign or grouping) and the suffix for a non-negative value.
    fn digits(&self, abs: f64) -> (String, String) {
        match self.kind {
            Kind::Fixed => (
                format!("{:.*}", self.precision.unwrap_or(6), abs),
                String::new(),
            ),
            Kind::Percent => (
                format!("{:.*}", self.precision.unwrap_or(6), abs * 100.0),
                "%".into(),
            ),
            Kind::PercentRounded => (
                to_precision_fixed(abs * 100.0, self.precision.unwrap_or(6)),
                "%".into(),
            ),
            Kind::Exp => (exp_js(abs, self.precision.unwrap_or(6)), String::new()),
            Kind::General => (general(abs, self.precision.unwrap_or(6)), String::new()),
            Kind::None => match self.precision {
                // d3: no type means `~g` with 12 significant digits.
                None => (trim_zeros(&general(abs, 12)), String::new()),
                Some(p) => (trim_zeros(&general(abs, p)), String::new()),
            },
            Kind::Rounded => (
                to_precision_fixed(abs, self.precision.unwrap_or(6)),
                String::new(),
            ),
            Kind::Integer => (format!("{:.0}", abs), String::new()),
            Kind::Hex => (format!("{:x}", abs.round() as u64), String::new()),
            Kind::HexUpper => (format!("{:X}", abs.round() as u64), String::new()),
            Kind::Octal => (format!("{:o}", abs.round() as u64), String::new()),
            Kind::Binary => (format!("{:b}", abs.round() as u64), String::new()),
            Kind::Si => si(abs, self.precision.unwrap_or(6)),
            Kind::Prefix { exponent, si } => {
                let p = self.precision.unwrap_or(0);
                let scaled = abs / 10f64.powi(exponent);
                let text = format!("{:.*}", p, scaled);
                // Zero needs no unit: "0" reads better than "0.0M" at the bottom of an axis.
                if text.chars().all(|c| c == '0' || c == '.') {
                    return ("0".into(), String::new());
                }
                (text, prefix_symbol(exponent, si).to_string())
            }
        }
    }
}

fn prefix_symbol(exponent: i32, si: bool) -> &'static str {
    if si {
        let i = (exponent / 3 + 8).clamp(0, 16) as usize;
        SI_PREFIXES[i]
    } else {
        match exponent {
            3 => "K",
            6 => "M",
            9 => "B",
            12 => "T",
            _ => "",
        }
    }
}

/// Decimal exponent of a positive value (floor(log10)), 0 for zero.
pub(crate) fn exponent_of(v: f64) -> i32 {
    if v == 0.0 || !v.is_finite() {
        0
    } else {
        v.abs().log10().floor() as i32
    }
}

/// Mantissa digits (no dot) and decimal exponent of `v` rounded to `p` significant digits.
fn significant(v: f64, p: usize) -> (String, i32) {
    let p = p.clamp(1, 21);
    let s = format!("{:.*e}", p - 1, v);
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    (digits, exp.parse().unwrap_or(0))
}

/// JavaScript's `toPrecision` in fixed notation (d3's `r`): `p` significant digits.
fn to_precision_fixed(v: f64, p: usize) -> String {
    if v == 0.0 {
        return if p > 1 {
            format!("0.{}", "0".repeat(p - 1))
        } else {
            "0".into()
        };
    }
    let (digits, exp) = significant(v, p);
    place_point(&digits, exp)
}

/// Places the decimal point in `digits` (d.ddd × 10^exp), padding with zeros.
fn place_point(digits: &str, exp: i32) -> String {
    let n = digits.len() as i32;
    if exp < 0 {
        format!("0.{}{}", "0".repeat((-exp - 1) as usize), digits)
    } else if exp + 1 >= n {
        format!("{}{}", digits, "0".repeat((exp + 1 - n) as usize))
    } else {
        let (a, b) = digits.split_at((exp + 1) as usize);
        format!("{a}.{b}")
    }
}

/// JavaScript's `toExponential(p)`: "1.23e+4".
fn exp_js(v: f64, p: usize) -> String {
    let s = format!("{:.*e}", p, v);
    match s.split_once('e') {
        Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
        Some((m, e)) => format!("{m}e{e}"),
        None => s,
    }
}

/// JavaScript's `toPrecision(p)`: fixed unless the exponent is < -6 or >= p.
fn general(v: f64, p: usize) -> String {
    let p = p.max(1);
    if v == 0.0 {
        return to_precision_fixed(0.0, p);
    }
    let (_, exp) = significant(v, p);
    if exp < -6 || exp >= p as i32 {
        exp_js(v, p - 1)
    } else {
        to_precision_fixed(v, p)
    }
}

/// d3's `s`: `p` significant digits with an SI prefix chosen from the rounded value.
fn si(v: f64, p: usize) -> (String, String) {
    if v == 0.0 {
        return (to_precision_fixed(0.0, p), String::new());
    }
    let (digits, exp) = significant(v, p);
    let k = (exp.div_euclid(3)).clamp(-8, 8) * 3;
    (
        place_point(&digits, exp - k),
        SI_PREFIXES[(k / 3 + 8) as usize].to_string(),
    )
}

/// Removes insignificant trailing zeros (and a bare point) from the mantissa, keeping any
/// exponent part: "1.500" → "1.5", "2.000e+3" → "2e+3".
fn trim_zeros(s: &str) -> String {
    let (mant, rest) = match s.find('e') {
        Some(i) => s.split_at(i),
        None => (s, ""),
    };
    if !mant.contains('.') {
        return s.to_string();
    }
    let t = mant.trim_end_matches('0').trim_end_matches('.');
    format!("{t}{rest}")
}

/// Inserts thousands separators into the integer part of a digit string.
fn group(s: &str) -> String {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (int, rest) = s.split_at(end);
    if int.len() <= 3 {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out.push_str(rest);
    out
}

/// Parses an optional user format, treating a blank string as absent.
pub fn parse_optional(spec: Option<&str>) -> Result<Option<NumberFormat>, RenderError> {
    match spec.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => NumberFormat::parse(s).map(Some),
    }
}

/// The format for axis ticks `step` apart whose largest magnitude is `max_abs`.
///
/// With a user format, d3's rule applies: a missing precision is derived from the step so
/// neighbouring ticks never print the same text. Without one, values under a million get
/// grouped fixed-point and larger ones a shared business suffix ("1.5M").
pub fn tick_format(user: Option<&NumberFormat>, step: f64, max_abs: f64) -> NumberFormat {
    let step = step.abs();
    let step_exp = exponent_of(step);
    if let Some(u) = user {
        let mut f = u.clone();
        if f.precision.is_none() {
            match f.kind {
                Kind::Fixed => f.precision = Some((-step_exp).max(0) as usize),
                Kind::Percent => f.precision = Some((-step_exp - 2).max(0) as usize),
                Kind::Si => {
                    let exponent = (exponent_of(max_abs).div_euclid(3)).clamp(-8, 8) * 3;
                    f.kind = Kind::Prefix { exponent, si: true };
                    f.precision = Some((exponent - step_exp).max(0) as usize);
                }
                Kind::None | Kind::General | Kind::Rounded | Kind::PercentRounded => {
                    // Enough significant digits to tell the largest tick from its neighbour.
                    let p = (exponent_of(max_abs) - step_exp + 1).clamp(1, 21) as usize;
                    f.precision = Some(p);
                    f.trim = true;
                }
                _ => {}
            }
        }
        return f;
    }
    if max_abs >= 1e6 {
        let exponent = (exponent_of(max_abs).div_euclid(3) * 3).min(12);
        let mut f = NumberFormat::base(Kind::Prefix {
            exponent,
            si: false,
        });
        f.precision = Some((exponent - step_exp).max(0) as usize);
        return f;
    }
    NumberFormat::fixed((-step_exp).max(0) as usize)
}

/// The format for one value shown on its own (data labels, big numbers, pie legends).
///
/// Automatic choice: large values get a suffix with three significant digits ("1.23M"),
/// thousands are whole numbers with separators, small values keep up to two decimals.
pub fn value_format(user: Option<&NumberFormat>, value: f64) -> NumberFormat {
    if let Some(u) = user {
        return u.clone();
    }
    let abs = value.abs();
    if abs >= 1e6 {
        let exponent = (exponent_of(abs).div_euclid(3) * 3).min(12);
        let mut f = NumberFormat::base(Kind::Prefix {
            exponent,
            si: false,
        });
        f.precision = Some((2 - (exponent_of(abs) - exponent)).max(0) as usize);
        f.trim = true;
        return f;
    }
    if abs >= 1000.0 || value.fract() == 0.0 {
        return NumberFormat::fixed(0);
    }
    if abs >= 1.0 {
        let mut f = NumberFormat::fixed(2);
        f.trim = true;
        return f;
    }
    let mut f = NumberFormat::base(Kind::General);
    f.precision = Some(3);
    f.trim = true;
    f
}

/// Formats one value with [`value_format`].
pub fn format_value(user: Option<&NumberFormat>, value: f64) -> String {
    value_format(user, value).format(value)
}

/// A change between two values as text: "+12.3%" (relative) or the formatted absolute
/// difference when the base is zero.
pub fn format_delta(user: Option<&NumberFormat>, value: f64, previous: f64) -> String {
    let diff = value - previous;
    if previous != 0.0 && !user.is_some_and(NumberFormat::is_percent) {
        let rel = diff / previous.abs();
        let mut f = NumberFormat::parse("+.1%").unwrap_or_else(|_| NumberFormat::fixed(1));
        if rel.abs() >= 10.0 {
            f.precision = Some(0);
        }
        return f.format(rel);
    }
    // A percentage metric changes by points, and a zero base has no ratio: show the difference.
    let text = format_value(user, diff);
    if diff > 0.0 { format!("+{text}") } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(spec: &str, v: f64) -> String {
        NumberFormat::parse(spec).unwrap().format(v)
    }

    #[test]
    fn d3_fixed_and_grouping() {
        assert_eq!(f(",.0f", 1234567.4), "1,234,567");
        assert_eq!(f(",.2f", 1234.5), "1,234.50");
        assert_eq!(f(".1f", 0.05), "0.1");
        assert_eq!(f(",d", 1234567.0), "1,234,567");
        assert_eq!(f(",d", -999.6), "-1,000");
        assert_eq!(f("d", 12.4), "12");
        assert_eq!(f(",", 1234.5), "1,234.5");
        assert_eq!(f("", 0.1 + 0.2), "0.3");
    }

    #[test]
    fn d3_currency_sign_and_padding() {
        assert_eq!(f("$,.0f", 1234567.0), "$1,234,567");
        assert_eq!(f("$,.2f", -3.5), "-$3.50");
        assert_eq!(f("($,.0f", -1500.0), "($1,500)");
        assert_eq!(f("+,.0f", 15.0), "+15");
        assert_eq!(f("+.1%", -0.123), "-12.3%");
        assert_eq!(f(".0f", -0.2), "0");
        assert_eq!(f("08.2f", 3.25), "00003.25");
        assert_eq!(f(">8d", 42.0), "      42");
        assert_eq!(f("*^9d", 42.0), "***42****");
        assert_eq!(f("€,.0f", 2500.0), "€2,500");
    }

    #[test]
    fn d3_percent() {
        assert_eq!(f(".1%", 0.1234), "12.3%");
        assert_eq!(f(".0%", 0.5), "50%");
        assert_eq!(f("%", 0.25), "25.000000%");
        assert_eq!(f(".2p", 0.1234), "12%");
    }

    #[test]
    fn d3_si() {
        assert_eq!(f("s", 1500.0), "1.50000k");
        assert_eq!(f(".2s", 1500.0), "1.5k");
        assert_eq!(f(".3s", 42e6), "42.0M");
        assert_eq!(f(".3~s", 42e6), "42M");
        assert_eq!(f(".2s", 999999.0), "1.0M");
        assert_eq!(f(".1s", 0.0012), "1m");
        assert_eq!(f("$.3s", 1.23e9), "$1.23G");
        assert_eq!(f("~s", 0.0), "0");
    }

    #[test]
    fn d3_exponent_general_rounded() {
        assert_eq!(f(".2e", 12345.0), "1.23e+4");
        assert_eq!(f(".1e", 0.00012), "1.2e-4");
        assert_eq!(f(".3g", 1234.5), "1.23e+3");
        assert_eq!(f(".3g", 0.0012345), "0.00123");
        assert_eq!(f(".2r", 1234.0), "1200");
        assert_eq!(f("x", 255.0), "ff");
        assert_eq!(f("~g", 2.5), "2.5");
    }

    #[test]
    fn bad_formats_are_errors() {
        for bad in ["q", ".f", ",.2fx", ".99f"] {
            let e = NumberFormat::parse(bad).unwrap_err();
            assert!(e.to_string().contains(bad), "{e}");
        }
    }

    #[test]
    fn tick_formats_follow_the_step() {
        assert_eq!(tick_format(None, 0.5, 3.0).format(1.5), "1.5");
        assert_eq!(tick_format(None, 500.0, 3000.0).format(2500.0), "2,500");
        let big = tick_format(None, 500_000.0, 2_500_000.0);
        assert_eq!(big.format(1_500_000.0), "1.5M");
        assert_eq!(big.format(0.0), "0");
        assert_eq!(tick_format(None, 2e9, 1e10).format(4e9), "4B");
        let user = NumberFormat::parse("$,f").unwrap();
        assert_eq!(tick_format(Some(&user), 0.1, 1.0).format(0.5), "$0.5");
        assert_eq!(
            tick_format(Some(&user), 1000.0, 5000.0).format(3000.0),
            "$3,000"
        );
        let pct = NumberFormat::parse("%").unwrap();
        assert_eq!(tick_format(Some(&pct), 0.05, 0.3).format(0.15), "15%");
        let s = NumberFormat::parse("s").unwrap();
        assert_eq!(
            tick_format(Some(&s), 200_000.0, 1e6).format(400_000.0),
            "0.4M"
        );
    }

    #[test]
    fn value_formats_are_short_and_readable() {
        assert_eq!(format_value(None, 1_234_567.0), "1.23M");
        assert_eq!(format_value(None, 45_600_000.0), "45.6M");
        assert_eq!(format_value(None, 2_000_000_000.0), "2B");
        assert_eq!(format_value(None, 98_765.4), "98,765");
        assert_eq!(format_value(None, 12.5), "12.5");
        assert_eq!(format_value(None, 0.01234), "0.0123");
        assert_eq!(format_delta(None, 110.0, 100.0), "+10.0%");
        assert_eq!(format_delta(None, 90.0, 100.0), "-10.0%");
        let pct = NumberFormat::parse(".1%").unwrap();
        assert_eq!(format_delta(Some(&pct), 0.25, 0.2), "+5.0%");
    }

    #[test]
    fn headlines_drop_cents_of_large_amounts() {
        let money = NumberFormat::parse("$,.2f").unwrap();
        assert_eq!(
            money.headline(12_345_678.9).format(12_345_678.9),
            "$12,345,679"
        );
        assert_eq!(money.headline(12.5).format(12.5), "$12.50");
    }
}
