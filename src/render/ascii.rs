//! Charts for terminals: plain text, no colour codes, every line at most the requested
//! width. Bars use block characters (eighths for a single series, shades to tell series
//! apart), a single line uses braille dots (2×4 per character), several lines add series
//! markers, pies become a labelled percentage bar list, big numbers use large block digits
//! when they fit and a framed value otherwise.
//!
//! Ticks and number formats are the same as in the pictures ([`super::scale`],
//! [`super::format`]); a malformed `y_format` falls back to the automatic format because
//! text output never fails.

use super::derive::{big_number_of, pie_slices};
use super::format::{NumberFormat, format_delta, format_value, parse_optional, tick_format};
use super::model::{ChartData, ChartKind, RenderSpec, XAxis};
use super::scale::{Ticks, grain_of, nice_ticks, time_category_labels, time_ticks, time_value};
use super::table::{TableLimits, prepare, text_table, truncate_chars};

/// Fill characters telling series apart in bars and stacked areas.
const SHADES: [char; 6] = ['█', '▓', '▒', '░', '▚', '▞'];
/// Point markers telling series apart in lines and scatter plots.
const MARKERS: [char; 8] = ['●', '◆', '▲', '■', '○', '◇', '△', '□'];
/// Partial blocks from 1/8 to 8/8, bottom-up and left-to-right.
const UP_EIGHTHS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
const RIGHT_EIGHTHS: [char; 8] = ['▏', '▎', '▍', '▌', '▋', '▊', '▉', '█'];

/// A character grid; text written past the right edge is cut.
struct Grid {
    cells: Vec<Vec<char>>,
    width: usize,
}

impl Grid {
    fn new(width: usize, height: usize) -> Self {
        Self {
            cells: vec![vec![' '; width]; height],
            width,
        }
    }

    fn put(&mut self, x: usize, y: usize, c: char) {
        if let Some(cell) = self.cells.get_mut(y).and_then(|row| row.get_mut(x)) {
            *cell = c;
        }
    }

    fn get(&self, x: usize, y: usize) -> char {
        self.cells
            .get(y)
            .and_then(|row| row.get(x))
            .copied()
            .unwrap_or(' ')
    }

    fn text(&mut self, x: usize, y: usize, s: &str) {
        for (k, c) in s.chars().enumerate() {
            if x + k >= self.width {
                break;
            }
            self.put(x + k, y, c);
        }
    }

    fn render(&self) -> String {
        let mut out = String::new();
        for row in &self.cells {
            let line: String = row.iter().collect();
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

fn len(s: &str) -> usize {
    s.chars().count()
}

/// Renders a chart as text of at most `width` columns and about `height` rows.
pub fn render(spec: &RenderSpec, data: &ChartData, width: usize, height: usize) -> String {
    let width = width.clamp(20, 1000);
    let height = height.clamp(5, 500);
    let user = parse_optional(spec.y_format.as_deref()).ok().flatten();
    let mut head = String::new();
    if !spec.title.trim().is_empty() {
        head.push_str(&truncate_chars(spec.title.trim(), width));
        head.push('\n');
    }
    let rows = height.saturating_sub(head.lines().count()).max(3);
    // A mixed chart: the left axis' chart above the right axis' (one text chart has one
    // value scale).
    if let Some([(left, ldata), (right, rdata)]) = spec.split_axes(data) {
        let untitled = |s: RenderSpec| RenderSpec {
            title: String::new(),
            ..s
        };
        if rows < 14 {
            // Too few rows for two charts: the left one, and the right axis named.
            let names: Vec<&str> = rdata.series.iter().map(|s| s.name.as_str()).collect();
            if rows < 6 {
                // Room for one tiny chart only (every text chart takes five lines at least).
                return format!("{head}{}", render(&untitled(left), &ldata, width, rows));
            }
            let top = render(&untitled(left), &ldata, width, rows - 1);
            let note = format!(
                "Right axis: {} (not drawn: give 14 rows or more)",
                names.join(", ")
            );
            return format!("{head}{top}{}\n", truncate_chars(&note, width));
        }
        // Two rows go to the "Left axis:" and "Right axis:" lines.
        let rows = rows.saturating_sub(2);
        let half = (rows / 2).max(3);
        let top = render(&untitled(left), &ldata, width, half);
        let bottom = render(
            &untitled(right),
            &rdata,
            width,
            rows.saturating_sub(half).max(3),
        );
        return format!("{head}Left axis:\n{top}Right axis:\n{bottom}");
    }
    if !matches!(spec.kind, ChartKind::BigNumber)
        && let Err(e) = data.check_lengths()
    {
        return format!("{head}{}\n", truncate_chars(&format!("error: {e}"), width));
    }
    let body = match spec.kind {
        ChartKind::Table | ChartKind::Pivot => {
            let limits = TableLimits {
                max_rows: rows.saturating_sub(3).max(1),
                max_cell_chars: 40,
                max_width: width,
            };
            return text_table(&spec.title, &prepare(spec, data), &limits);
        }
        ChartKind::BigNumber => big_number(data, user.as_ref(), width, rows),
        ChartKind::Pie { .. } => pie(data, user.as_ref(), width, rows),
        ChartKind::Gauge => gauge(spec, data, user.as_ref(), width),
        ChartKind::Funnel => funnel(data, user.as_ref(), width, rows),
        ChartKind::Treemap => treemap(data, user.as_ref(), width, rows),
        ChartKind::Waterfall => waterfall(data, user.as_ref(), width, rows),
        ChartKind::Heatmap => heatmap(data, user.as_ref(), width, rows),
        ChartKind::BoxPlot => box_plot(data, user.as_ref(), width, rows),
        _ if data.has_no_values() || data.series.is_empty() => "No data\n".to_string(),
        ChartKind::Bar if spec.horizontal => hbars(spec, data, user.as_ref(), width, rows),
        ChartKind::Bar => vbars(spec, data, user.as_ref(), width, rows),
        _ => xy(spec, data, user.as_ref(), width, rows),
    };
    format!("{head}{body}")
}

/// Legend lines: symbol and name per series, wrapped to `width`, at most two lines.
fn legend(names: &[String], symbols: &[char], width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for (i, name) in names.iter().enumerate() {
        let item = format!(
            "{} {}",
            symbols[i % symbols.len()],
            truncate_chars(name, 24)
        );
        let Some(line) = lines.last_mut() else { break };
        if !line.is_empty() && len(line) + 2 + len(&item) > width {
            if lines.len() == 2 {
                break;
            }
            lines.push(item);
        } else {
            if !line.is_empty() {
                line.push_str("  ");
            }
            line.push_str(&item);
        }
    }
    lines.retain(|l| !l.is_empty());
    lines
}

/// Value range and nice ticks for `rows` of plot.
fn value_ticks(
    spec: &RenderSpec,
    data: &ChartData,
    user: Option<&NumberFormat>,
    cells: usize,
) -> (Ticks, NumberFormat) {
    let n = data.x.len();
    let stacked = spec.stacked
        && data.series.len() > 1
        && matches!(spec.kind, ChartKind::Bar | ChartKind::Area);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for i in 0..n {
        if stacked {
            let (mut pos, mut neg) = (0.0, 0.0);
            for s in &data.series {
                match s.get(i) {
                    Some(v) if v >= 0.0 => pos += v,
                    Some(v) => neg += v,
                    None => {}
                }
            }
            lo = lo.min(neg);
            hi = hi.max(pos);
        } else {
            for s in &data.series {
                if let Some(v) = s.get(i) {
                    lo = lo.min(v);
                    hi = hi.max(v);
                }
            }
        }
    }
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    let zero = match spec.kind {
        ChartKind::Bar | ChartKind::Area => true,
        ChartKind::Line => (lo > 0.0 && lo < hi * 0.4) || (hi < 0.0 && hi > lo * 0.4),
        _ => false,
    };
    if zero {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    let min_step = user.and_then(NumberFormat::resolution);
    let ticks = nice_ticks(lo, hi, (cells / 3).clamp(2, 6), min_step);
    let fmt = tick_format(user, ticks.step, ticks.lo.abs().max(ticks.hi.abs()));
    (ticks, fmt)
}

/// Horizontal positions of the data in [0, 1] and the x-axis labels (fraction, text).
fn x_positions(kind: ChartKind, x: &XAxis, cols: usize) -> (Vec<Option<f64>>, Vec<(f64, String)>) {
    let n = x.len();
    let band = |labels: Vec<String>| {
        let fr: Vec<Option<f64>> = (0..n).map(|i| Some((i as f64 + 0.5) / n as f64)).collect();
        let labels = labels
            .into_iter()
            .enumerate()
            .map(|(i, l)| ((i as f64 + 0.5) / n as f64, l))
            .collect();
        (fr, labels)
    };
    match x {
        XAxis::Categories(c) => band(c.clone()),
        XAxis::Time(t) if kind == ChartKind::Bar => band(time_category_labels(t)),
        XAxis::Numbers(v) if kind == ChartKind::Bar => {
            band(v.iter().map(|v| format_value(None, *v)).collect())
        }
        XAxis::Time(t) => {
            let (Some(lo), Some(hi)) = (t.iter().min(), t.iter().max()) else {
                return (Vec::new(), Vec::new());
            };
            let (a, b) = (time_value(*lo), time_value(*hi));
            if b <= a {
                // One instant: it sits in the middle, and so does its label.
                let label = time_ticks(*lo, *hi, 1, grain_of(t))
                    .first()
                    .map_or_else(|| lo.format("%Y-%m-%d").to_string(), |tk| tk.one_line());
                return (vec![Some(0.5); n], vec![(0.5, label)]);
            }
            let span = b - a;
            let fr = t
                .iter()
                .map(|v| {
                    Some(if b > a {
                        (time_value(*v) - a) / span
                    } else {
                        0.5
                    })
                })
                .collect();
            let mut count = (cols / 9).max(2);
            loop {
                let ticks = time_ticks(*lo, *hi, count, grain_of(t));
                let widest = ticks.iter().map(|t| len(&t.one_line())).max().unwrap_or(1);
                if (widest + 2) * ticks.len() <= cols || count <= 2 {
                    let labels = ticks
                        .iter()
                        .map(|tk| ((time_value(tk.at) - a) / span, tk.one_line()))
                        .collect();
                    return (fr, labels);
                }
                count -= 1;
            }
        }
        XAxis::Numbers(v) => {
            let finite = v.iter().copied().filter(|v| v.is_finite());
            let lo = finite.clone().fold(f64::INFINITY, f64::min);
            let hi = finite.fold(f64::NEG_INFINITY, f64::max);
            let ticks = nice_ticks(lo, hi, (cols / 10).clamp(2, 8), None);
            let span = (ticks.hi - ticks.lo).max(f64::MIN_POSITIVE);
            let fmt = tick_format(None, ticks.step, ticks.lo.abs().max(ticks.hi.abs()));
            let fr = v
                .iter()
                .map(|x| x.is_finite().then(|| (x - ticks.lo) / span))
                .collect();
            let labels = ticks
                .values
                .iter()
                .map(|t| ((t - ticks.lo) / span, fmt.format(*t)))
                .collect();
            (fr, labels)
        }
    }
}

/// The frame of a cartesian chart: legend, y labels and axis, x axis and labels.
struct Frame {
    grid: Grid,
    /// First plot column and row, and the plot size in cells.
    x0: usize,
    y0: usize,
    cols: usize,
    rows: usize,
    ticks: Ticks,
}

impl Frame {
    /// Height of a value above the bottom of the plot, in cells (fractional).
    fn level(&self, v: f64) -> f64 {
        let span = (self.ticks.hi - self.ticks.lo).max(f64::MIN_POSITIVE);
        (v - self.ticks.lo) / span * self.rows as f64
    }
}

fn frame(
    spec: &RenderSpec,
    data: &ChartData,
    user: Option<&NumberFormat>,
    width: usize,
    height: usize,
    symbols: &[char],
) -> (Frame, Vec<Option<f64>>) {
    let names: Vec<String> = data.series.iter().map(|s| s.name.clone()).collect();
    let y_title = spec
        .y_title
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty() && height >= 12);
    let x_title = spec
        .x_title
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty() && height >= 12);
    let bottom = 2 + usize::from(x_title.is_some());
    let mut legend_lines = if spec.show_legend && names.len() > 1 {
        legend(&names, symbols, width)
    } else {
        Vec::new()
    };
    // The plot keeps at least three rows; the legend gives way first on short terminals.
    while !legend_lines.is_empty()
        && height < legend_lines.len() + usize::from(y_title.is_some()) + bottom + 3
    {
        legend_lines.pop();
    }
    let top = legend_lines.len() + usize::from(y_title.is_some());
    let rows = height.saturating_sub(top + bottom).max(2);
    let (ticks, fmt) = value_ticks(spec, data, user, rows);
    let labels: Vec<String> = ticks.values.iter().map(|v| fmt.format(*v)).collect();
    let label_w = labels
        .iter()
        .map(|l| len(l))
        .max()
        .unwrap_or(1)
        .min(width / 3);
    let x0 = label_w + 1;
    let cols = width.saturating_sub(x0 + 1).max(4);
    let mut grid = Grid::new(width, top + rows + bottom);
    for (i, line) in legend_lines.iter().enumerate() {
        grid.text(0, i, line);
    }
    if let Some(t) = y_title {
        grid.text(0, legend_lines.len(), &truncate_chars(t, width));
    }
    let mut f = Frame {
        grid,
        x0,
        y0: top,
        cols,
        rows,
        ticks,
    };
    // Y axis with labels at the rows nearest their ticks.
    for r in 0..rows {
        f.grid.put(label_w, top + r, '│');
    }
    let mut used = Vec::new();
    let tick_values = f.ticks.values.clone();
    for (v, label) in tick_values.iter().zip(&labels) {
        let level = f.level(*v);
        let r = (rows as f64 - level).round().clamp(0.0, rows as f64 - 1.0) as usize;
        if used.contains(&r) {
            continue;
        }
        used.push(r);
        let label = truncate_chars(label, label_w);
        f.grid.text(label_w - len(&label), top + r, &label);
        f.grid.put(label_w, top + r, '┤');
    }
    // X axis line and labels.
    let axis_row = top + rows;
    f.grid.put(label_w, axis_row, '└');
    for c in 0..cols {
        f.grid.put(x0 + c, axis_row, '─');
    }
    let (fr, xlabels) = x_positions(spec.kind, &data.x, cols);
    let band = matches!(data.x, XAxis::Categories(_)) || spec.kind == ChartKind::Bar;
    let slot = cols as f64 / data.x.len().max(1) as f64;
    let room = (slot.floor() as usize).saturating_sub(1).max(1);
    let widest = xlabels.iter().map(|(_, l)| len(l)).max().unwrap_or(1);
    // Category names are cut to their slot while that still leaves a word; dates (and
    // names in very narrow slots) are thinned instead, every k-th shown in full.
    let (every, limit) = if !band || widest <= room {
        (1, 16)
    } else if matches!(data.x, XAxis::Categories(_)) && room >= 5 {
        (1, room)
    } else {
        let cap = widest.min(12);
        (((cap + 1) as f64 / slot).ceil().max(1.0) as usize, cap)
    };
    let mut next_free = 0usize;
    for (k, (frac, label)) in xlabels.iter().enumerate() {
        if k % every != 0 || !(-0.001..=1.001).contains(frac) {
            continue;
        }
        let col = x0 + (frac * (cols - 1) as f64).round() as usize;
        let label = truncate_chars(label, limit);
        let l = len(&label);
        let start = col.saturating_sub(l / 2).min(width.saturating_sub(l));
        if start < next_free {
            continue;
        }
        if !band {
            f.grid.put(col, axis_row, '┬');
        }
        f.grid.text(start, axis_row + 1, &label);
        next_free = start + l + 1;
    }
    if let Some(t) = x_title {
        let t = truncate_chars(t, cols);
        let start = x0 + cols.saturating_sub(len(&t)) / 2;
        f.grid.text(start, axis_row + 2, &t);
    }
    (f, fr)
}

/// Braille canvas: 2×4 dots per character cell.
struct Braille {
    cols: usize,
    rows: usize,
    bits: Vec<u8>,
}

impl Braille {
    fn new(cols: usize, rows: usize) -> Self {
        Self {
            cols,
            rows,
            bits: vec![0; cols * rows],
        }
    }

    fn dot(&mut self, x: i64, y: i64) {
        if x < 0 || y < 0 {
            return;
        }
        let (x, y) = (x as usize, y as usize);
        let (c, r) = (x / 2, y / 4);
        if c >= self.cols || r >= self.rows {
            return;
        }
        // Braille dot numbering: left column 1,2,3,7 and right column 4,5,6,8.
        const BITS: [[u8; 4]; 2] = [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]];
        self.bits[r * self.cols + c] |= BITS[x % 2][y % 4];
    }

    fn line(&mut self, a: (i64, i64), b: (i64, i64)) {
        let (mut x, mut y) = a;
        let dx = (b.0 - a.0).abs();
        let dy = -(b.1 - a.1).abs();
        let sx = if a.0 < b.0 { 1 } else { -1 };
        let sy = if a.1 < b.1 { 1 } else { -1 };
        let mut err = dx + dy;
        loop {
            self.dot(x, y);
            if (x, y) == b {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    fn char_at(&self, c: usize, r: usize) -> Option<char> {
        let b = self.bits[r * self.cols + c];
        (b != 0).then(|| char::from_u32(0x2800 + u32::from(b)).unwrap_or('⣿'))
    }
}

/// Lines, areas and scatter plots.
fn xy(
    spec: &RenderSpec,
    data: &ChartData,
    user: Option<&NumberFormat>,
    width: usize,
    height: usize,
) -> String {
    let multi = data.series.len() > 1;
    let symbols: &[char] = if spec.kind == ChartKind::Area && spec.stacked && multi {
        &SHADES
    } else {
        &MARKERS
    };
    let (mut f, fr) = frame(spec, data, user, width, height, symbols);
    let n = data.x.len();
    let (cols, rows) = (f.cols, f.rows);
    let col_of = |frac: f64| (frac * (cols - 1) as f64).round() as usize;
    match spec.kind {
        ChartKind::Scatter => {
            for (j, s) in data.series.iter().enumerate() {
                let mark = if multi {
                    MARKERS[j % MARKERS.len()]
                } else {
                    '•'
                };
                for (i, frac) in fr.iter().enumerate() {
                    if let (Some(frac), Some(v)) = (frac, s.get(i)) {
                        let r = (rows as f64 - f.level(v))
                            .floor()
                            .clamp(0.0, rows as f64 - 1.0) as usize;
                        f.grid.put(f.x0 + col_of(*frac), f.y0 + r, mark);
                    }
                }
            }
        }
        ChartKind::Area if !multi || spec.stacked => {
            // Column fills: each column's value interpolated between neighbouring points.
            let mut lower = vec![0.0f64; cols];
            for (j, s) in data.series.iter().enumerate() {
                let fill = if multi {
                    SHADES[j % SHADES.len()]
                } else {
                    '█'
                };
                let values = column_values(&fr, |i| s.get(i), cols, spec.stacked);
                for c in 0..cols {
                    let Some(v) = values[c] else { continue };
                    let (a, b) = (lower[c], lower[c] + v);
                    if multi {
                        let (ra, rb) = (f.level(a).round() as usize, f.level(b).round() as usize);
                        for level in ra.min(rb)..ra.max(rb) {
                            f.grid
                                .put(f.x0 + c, f.y0 + rows - 1 - level.min(rows - 1), fill);
                        }
                    } else {
                        fill_eighths(&mut f, c, a, b);
                    }
                    if spec.stacked {
                        lower[c] = b;
                    }
                }
            }
        }
        _ => {
            // Lines (and overlapping areas): braille, with series markers when several.
            let mut canvases = Vec::new();
            for s in &data.series {
                let mut canvas = Braille::new(cols, rows);
                let dots_w = (cols * 2 - 1) as f64;
                let dots_h = (rows * 4) as f64;
                let point = |i: usize| -> Option<(i64, i64)> {
                    let frac = fr.get(i).copied().flatten()?;
                    let v = s.get(i)?;
                    let y = dots_h - f.level(v) * 4.0;
                    Some((
                        (frac * dots_w).round() as i64,
                        y.round().clamp(0.0, dots_h - 1.0) as i64,
                    ))
                };
                let mut prev = None;
                for i in 0..n {
                    let p = point(i);
                    match (prev, p) {
                        (Some(a), Some(b)) => canvas.line(a, b),
                        (None, Some(b)) => canvas.dot(b.0, b.1),
                        _ => {}
                    }
                    prev = p;
                }
                canvases.push(canvas);
            }
            for canvas in &canvases {
                for r in 0..rows {
                    for c in 0..cols {
                        if let Some(ch) = canvas.char_at(c, r) {
                            f.grid.put(f.x0 + c, f.y0 + r, ch);
                        }
                    }
                }
            }
            // A value with gaps on both sides is a single braille dot: make it visible.
            for (j, s) in data.series.iter().enumerate() {
                for (i, frac) in fr.iter().enumerate() {
                    let (Some(frac), Some(v)) = (frac, s.get(i)) else {
                        continue;
                    };
                    let before = i > 0 && s.get(i - 1).is_some();
                    let after = s.get(i + 1).is_some();
                    if !before && !after {
                        let r = (rows as f64 - f.level(v))
                            .floor()
                            .clamp(0.0, rows as f64 - 1.0) as usize;
                        let mark = if multi {
                            MARKERS[j % MARKERS.len()]
                        } else {
                            '•'
                        };
                        f.grid.put(f.x0 + col_of(*frac), f.y0 + r, mark);
                    }
                }
            }
            if multi {
                // Markers at the points when they are sparse, else every few columns, so
                // each line can be told from the others without colour.
                let sparse = n * 3 <= cols;
                let step = (cols / 8).max(4);
                for (j, s) in data.series.iter().enumerate() {
                    let mark = MARKERS[j % MARKERS.len()];
                    let mut last_col: Option<usize> = None;
                    for (i, frac) in fr.iter().enumerate() {
                        let (Some(frac), Some(v)) = (frac, s.get(i)) else {
                            continue;
                        };
                        let c = col_of(*frac);
                        if !sparse && last_col.is_some_and(|l| c < l + step) {
                            continue;
                        }
                        last_col = Some(c + (j * step) / data.series.len().max(1));
                        let r = (rows as f64 - f.level(v))
                            .floor()
                            .clamp(0.0, rows as f64 - 1.0) as usize;
                        f.grid.put(f.x0 + c, f.y0 + r, mark);
                    }
                }
            }
        }
    }
    zero_line(&mut f);
    f.grid.render()
}

/// A dotted line at zero when the values cross it, drawn only in empty cells.
fn zero_line(f: &mut Frame) {
    if f.ticks.lo < 0.0 && f.ticks.hi > 0.0 {
        let r = (f.rows as f64 - f.level(0.0))
            .round()
            .clamp(0.0, f.rows as f64 - 1.0) as usize;
        for c in 0..f.cols {
            if f.grid.get(f.x0 + c, f.y0 + r) == ' ' {
                f.grid.put(f.x0 + c, f.y0 + r, '┈');
            }
        }
    }
}

/// Per-column values interpolated between the points on either side (gaps stay gaps;
/// stacked areas treat gaps as zero, as the pictures do).
fn column_values(
    fr: &[Option<f64>],
    get: impl Fn(usize) -> Option<f64>,
    cols: usize,
    zero_gaps: bool,
) -> Vec<Option<f64>> {
    let pts: Vec<(f64, Option<f64>)> = fr
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            f.map(|f| {
                (
                    f * (cols - 1) as f64,
                    if zero_gaps {
                        Some(get(i).unwrap_or(0.0))
                    } else {
                        get(i)
                    },
                )
            })
        })
        .collect();
    let mut out = vec![None; cols];
    for w in pts.windows(2) {
        let ((xa, va), (xb, vb)) = (w[0], w[1]);
        let (Some(va), Some(vb)) = (va, vb) else {
            continue;
        };
        let (ca, cb) = (xa.round() as usize, xb.round() as usize);
        for (c, slot) in out
            .iter_mut()
            .enumerate()
            .take(cb.min(cols - 1) + 1)
            .skip(ca)
        {
            let t = if cb > ca {
                (c - ca) as f64 / (cb - ca) as f64
            } else {
                0.0
            };
            *slot = Some(va + (vb - va) * t);
        }
    }
    if pts.len() == 1
        && let (x, Some(v)) = pts[0]
    {
        out[(x.round() as usize).min(cols - 1)] = Some(v);
    }
    out
}

/// Fills column `c` between values `a` and `b` with full blocks and an eighth block at the
/// far end (upwards for positive, rounded cells for negative).
fn fill_eighths(f: &mut Frame, c: usize, a: f64, b: f64) {
    let rows = f.rows;
    let (lo, hi) = (a.min(b), a.max(b));
    let zero = f.level(0.0).round();
    if hi > 0.0 || a >= 0.0 {
        let start = (f.level(lo.max(0.0)).max(zero) * 8.0).round() as i64;
        let end = (f.level(hi) * 8.0).round() as i64;
        let mut e = start;
        while e + 8 <= end {
            let level = (e / 8) as usize;
            f.grid
                .put(f.x0 + c, f.y0 + rows - 1 - level.min(rows - 1), '█');
            e += 8;
        }
        let rest = (end - e).clamp(0, 8) as usize;
        if rest > 0 {
            let level = (e / 8) as usize;
            f.grid.put(
                f.x0 + c,
                f.y0 + rows - 1 - level.min(rows - 1),
                UP_EIGHTHS[rest - 1],
            );
        }
    }
    if lo < 0.0 {
        let from = f.level(lo).round() as i64;
        let to = zero as i64;
        for level in from.max(0)..to {
            f.grid.put(
                f.x0 + c,
                f.y0 + rows - 1 - (level as usize).min(rows - 1),
                '█',
            );
        }
    }
}

/// Vertical bars: grouped or stacked, eighth blocks for a single series.
fn vbars(
    spec: &RenderSpec,
    data: &ChartData,
    user: Option<&NumberFormat>,
    width: usize,
    height: usize,
) -> String {
    let n = data.x.len();
    let m = data.series.len();
    let stacked = spec.stacked && m > 1;
    // Estimate the plot width; if bars cannot get one column each, horizontal bars read better.
    let est_cols = width.saturating_sub(10);
    let per_slot = if stacked { 1 } else { m };
    // Bars over time may touch (a column each); categories need a gap to stay readable.
    let over_time = !matches!(data.x, XAxis::Categories(_));
    let needed = if over_time && per_slot == 1 {
        n
    } else {
        n * (per_slot + 1)
    };
    if needed > est_cols {
        return hbars(spec, data, user, width, height);
    }
    let (mut f, _) = frame(spec, data, user, width, height, &SHADES);
    let slot = f.cols as f64 / n as f64;
    let bar_w = if stacked || m == 1 {
        ((slot * 0.7).floor() as usize).max(1)
    } else {
        (((slot - 1.0) / m as f64).floor() as usize).max(1)
    };
    let group_w = if stacked || m == 1 { bar_w } else { bar_w * m };
    let mut label_rows: Vec<(usize, usize, String)> = Vec::new();
    for i in 0..n {
        // Narrow slots (bars over time) tile the axis with no gaps, so the rhythm of
        // rounding does not show as uneven spacing.
        let (start, width) = if slot < 2.0 && (stacked || m == 1) {
            let a = (slot * i as f64).floor() as usize;
            let b = ((slot * (i + 1) as f64).floor() as usize).max(a + 1);
            (a, b - a)
        } else {
            let start = (slot * i as f64 + (slot - group_w as f64) / 2.0).round() as usize;
            (start, bar_w)
        };
        let (mut pos, mut neg) = (0.0, 0.0);
        for (j, s) in data.series.iter().enumerate() {
            let Some(v) = s.get(i) else { continue };
            let (a, b) = if stacked {
                if v >= 0.0 {
                    pos += v;
                    (pos - v, pos)
                } else {
                    neg += v;
                    (neg - v, neg)
                }
            } else {
                (0.0, v)
            };
            let x = if stacked || m == 1 {
                start
            } else {
                start + j * bar_w
            };
            for c in x..(x + width).min(f.cols) {
                if m == 1 {
                    fill_eighths(&mut f, c, a, b);
                } else {
                    let (la, lb) = (f.level(a).round() as usize, f.level(b).round() as usize);
                    for level in la.min(lb)..la.max(lb) {
                        let r = f.y0 + f.rows - 1 - level.min(f.rows - 1);
                        f.grid.put(f.x0 + c, r, SHADES[j % SHADES.len()]);
                    }
                }
            }
            if m == 1 {
                label_rows.push((start, bar_w, format_value(user, v)));
            }
        }
    }
    // Values above single-series bars when every one fits its slot.
    if m == 1
        && label_rows
            .iter()
            .all(|(_, _, t)| len(t) < slot.floor() as usize)
    {
        for (i, (start, bw, text)) in label_rows.iter().enumerate() {
            let Some(v) = data.series[0].get(i) else {
                continue;
            };
            let level = f.level(v.max(0.0)).ceil() as usize;
            if level >= f.rows || v < 0.0 {
                continue;
            }
            let r = f.y0 + f.rows - 1 - level;
            let l = len(text);
            let x = (f.x0 + start + bw / 2).saturating_sub(l / 2);
            if (x..x + l).all(|c| f.grid.get(c, r) == ' ') {
                f.grid.text(x, r, text);
            }
        }
    }
    zero_line(&mut f);
    f.grid.render()
}

/// One line of a bar list: label, bars as (series, from, to), and the value printed after.
type BarRow = (String, Vec<(usize, f64, f64)>, String);

/// Horizontal bars (and the fallback for crowded vertical bars): a labelled bar list with
/// the value at the end of each bar.
fn hbars(
    spec: &RenderSpec,
    data: &ChartData,
    user: Option<&NumberFormat>,
    width: usize,
    height: usize,
) -> String {
    let labels: Vec<String> = match &data.x {
        XAxis::Categories(c) => c.clone(),
        XAxis::Time(t) => time_category_labels(t),
        XAxis::Numbers(v) => v.iter().map(|v| format_value(None, *v)).collect(),
    };
    let m = data.series.len();
    let stacked = spec.stacked && m > 1;
    let mut out = String::new();
    if spec.show_legend && m > 1 {
        let names: Vec<String> = data.series.iter().map(|s| s.name.clone()).collect();
        for l in legend(&names, &SHADES, width) {
            out.push_str(&l);
            out.push('\n');
        }
    }
    // Per category: its bars as (series, start, end) and the value shown after them.
    let mut rows: Vec<BarRow> = Vec::new();
    for (i, label) in labels.iter().enumerate() {
        if stacked {
            let (mut pos, mut neg) = (0.0, 0.0);
            let mut parts = Vec::new();
            for (j, s) in data.series.iter().enumerate() {
                let Some(v) = s.get(i) else { continue };
                if v >= 0.0 {
                    parts.push((j, pos, pos + v));
                    pos += v;
                } else {
                    parts.push((j, neg + v, neg));
                    neg += v;
                }
            }
            rows.push((label.clone(), parts, format_value(user, pos + neg)));
        } else {
            for (j, s) in data.series.iter().enumerate() {
                let text = s.get(i).map_or_else(String::new, |v| format_value(user, v));
                let parts = s
                    .get(i)
                    .map(|v| vec![(j, v.min(0.0), v.max(0.0))])
                    .unwrap_or_default();
                let name = if j == 0 { label.clone() } else { String::new() };
                rows.push((name, parts, text));
            }
        }
    }
    let lo = rows
        .iter()
        .flat_map(|r| r.1.iter().map(|p| p.1))
        .fold(0.0, f64::min);
    let hi = rows
        .iter()
        .flat_map(|r| r.1.iter().map(|p| p.2))
        .fold(0.0, f64::max);
    let label_w = rows
        .iter()
        .map(|r| len(&r.0))
        .max()
        .unwrap_or(1)
        .min(width / 3)
        .max(1);
    let value_w = rows.iter().map(|r| len(&r.2)).max().unwrap_or(1);
    let bar_w = width.saturating_sub(label_w + 3 + value_w).max(4);
    let span = (hi - lo).max(f64::MIN_POSITIVE);
    let to_eighths = |v: f64| ((v - lo) / span * (bar_w * 8) as f64).round() as usize;
    let room = height.saturating_sub(out.lines().count()).max(2);
    let shown = if rows.len() > room {
        room - 1
    } else {
        rows.len()
    };
    for (label, parts, text) in &rows[..shown] {
        let mut cells = vec![' '; bar_w];
        for (j, a, b) in parts {
            let (ea, eb) = (to_eighths(*a), to_eighths(*b));
            if m == 1 {
                // One series: eighth blocks at the far end for precision.
                let zero = to_eighths(0.0);
                if *b > 0.0 {
                    let full = (eb - zero) / 8;
                    for cell in cells.iter_mut().skip(zero / 8).take(full) {
                        *cell = '█';
                    }
                    let rest = (eb - zero) % 8;
                    if rest > 0
                        && let Some(cell) = cells.get_mut(zero / 8 + full)
                    {
                        *cell = RIGHT_EIGHTHS[rest - 1];
                    }
                } else {
                    for cell in cells
                        .iter_mut()
                        .take(zero / 8)
                        .skip(((ea as f64) / 8.0).round() as usize)
                    {
                        *cell = '█';
                    }
                }
            } else {
                let (ca, cb) = (
                    ((ea as f64) / 8.0).round() as usize,
                    ((eb as f64) / 8.0).round() as usize,
                );
                for cell in cells.iter_mut().take(cb.max(ca + 1)).skip(ca) {
                    *cell = SHADES[j % SHADES.len()];
                }
            }
        }
        let bar: String = cells.into_iter().collect();
        let bar = bar.trim_end();
        let label = truncate_chars(label, label_w);
        let pad = " ".repeat(label_w - len(&label));
        let line = format!("{pad}{label} │{bar} {text}");
        out.push_str(&truncate_chars(line.trim_end(), width));
        out.push('\n');
    }
    if shown < rows.len() {
        out.push_str(&truncate_chars(
            &format!("… {} more", rows.len() - shown),
            width,
        ));
        out.push('\n');
    }
    out
}

/// Pie as a list: label, bar scaled to the largest share, percentage and value.
fn pie(data: &ChartData, user: Option<&NumberFormat>, width: usize, height: usize) -> String {
    let slices = pie_slices(data);
    let total: f64 = slices.iter().map(|(_, v)| v).sum();
    if slices.is_empty() || total <= 0.0 {
        return "No data\n".to_string();
    }
    let max_share = slices.iter().map(|(_, v)| v / total).fold(0.0, f64::max);
    let label_w = slices
        .iter()
        .map(|(l, _)| len(l))
        .max()
        .unwrap_or(1)
        .min(width / 3)
        .max(1);
    let values: Vec<String> = slices.iter().map(|(_, v)| format_value(user, *v)).collect();
    let value_w = values.iter().map(|v| len(v)).max().unwrap_or(1);
    let bar_w = width.saturating_sub(label_w + 2 + 7 + 2 + value_w).max(4);
    let shown = slices.len().min(height.max(2) - 1);
    let mut out = String::new();
    for ((label, v), value) in slices.iter().zip(&values).take(shown) {
        let share = v / total;
        let eighths = (share / max_share * (bar_w * 8) as f64).round() as usize;
        let mut bar = "█".repeat(eighths / 8);
        if !eighths.is_multiple_of(8) {
            bar.push(RIGHT_EIGHTHS[eighths % 8 - 1]);
        }
        let label = truncate_chars(label, label_w);
        let line = format!(
            "{label}{} {bar}{} {:>6.1}%  {value:>value_w$}",
            " ".repeat(label_w - len(&label)),
            " ".repeat(bar_w.saturating_sub(len(&bar))),
            share * 100.0
        );
        out.push_str(&truncate_chars(line.trim_end(), width));
        out.push('\n');
    }
    if shown < slices.len() {
        out.push_str(&format!("… {} more\n", slices.len() - shown));
    }
    out
}

/// A bar of `cells` character cells (eighths included) for `part` of `whole`.
fn bar_of(part: f64, whole: f64, cells: usize) -> String {
    if whole <= 0.0 || part <= 0.0 {
        return String::new();
    }
    let eighths = ((part / whole).min(1.0) * (cells * 8) as f64).round() as usize;
    let mut bar = "█".repeat(eighths / 8);
    if !eighths.is_multiple_of(8) {
        bar.push(RIGHT_EIGHTHS[eighths % 8 - 1]);
    }
    bar
}

fn padded(s: &str, w: usize) -> String {
    let t = truncate_chars(s, w);
    format!("{t}{}", " ".repeat(w.saturating_sub(len(&t))))
}

/// Rows of label, bar and value text, bars scaled to the largest value; `centre` centres
/// each bar (a funnel).
fn labelled_bars(
    items: &[(String, f64, String)],
    width: usize,
    height: usize,
    centre: bool,
) -> String {
    let max = items.iter().map(|i| i.1).fold(0.0, f64::max);
    if items.is_empty() || max <= 0.0 {
        return "No data\n".to_string();
    }
    let label_w = items
        .iter()
        .map(|i| len(&i.0))
        .max()
        .unwrap_or(1)
        .min(width / 3)
        .max(1);
    let value_w = items.iter().map(|i| len(&i.2)).max().unwrap_or(1);
    let bar_w = width.saturating_sub(label_w + 2 + value_w + 2).max(4);
    let shown = items.len().min(height.max(2) - 1);
    let mut out = String::new();
    for (label, v, text) in items.iter().take(shown) {
        let bar = bar_of(*v, max, bar_w);
        let bar = if centre {
            let pad = (bar_w - len(&bar).min(bar_w)) / 2;
            format!(
                "{}{bar}{}",
                " ".repeat(pad),
                " ".repeat(bar_w - pad - len(&bar).min(bar_w))
            )
        } else {
            padded(&bar, bar_w)
        };
        let line = format!("{} {bar}  {text:>value_w$}", padded(label, label_w));
        out.push_str(&truncate_chars(line.trim_end(), width));
        out.push('\n');
    }
    if shown < items.len() {
        out.push_str(&format!("… {} more\n", items.len() - shown));
    }
    out
}

fn funnel(data: &ChartData, user: Option<&NumberFormat>, width: usize, height: usize) -> String {
    let items = crate::render::derive::items_of(data);
    let first = items.first().map(|i| i.1).unwrap_or(0.0);
    let rows: Vec<(String, f64, String)> = items
        .into_iter()
        .map(|(l, v)| {
            let share = if first > 0.0 {
                format!(" ({:.1}%)", v / first * 100.0)
            } else {
                String::new()
            };
            let text = format_value(user, v) + &share;
            (l, v, text)
        })
        .collect();
    labelled_bars(&rows, width, height, true)
}

fn treemap(data: &ChartData, user: Option<&NumberFormat>, width: usize, height: usize) -> String {
    let mut items = crate::render::derive::items_of(data);
    items.retain(|i| i.1 > 0.0);
    items.sort_by(|a, b| b.1.total_cmp(&a.1));
    let total: f64 = items.iter().map(|i| i.1).sum();
    let rows: Vec<(String, f64, String)> = items
        .into_iter()
        .map(|(l, v)| {
            let text = format!("{} {:>5.1}%", format_value(user, v), v / total * 100.0);
            (l, v, text)
        })
        .collect();
    labelled_bars(&rows, width, height, false)
}

fn gauge(spec: &RenderSpec, data: &ChartData, user: Option<&NumberFormat>, width: usize) -> String {
    let Some((value, lo, hi)) = crate::render::derive::gauge_of(spec, data) else {
        return "No data\n".to_string();
    };
    let (a, b) = (format_value(user, lo), format_value(user, hi));
    let cells = width.saturating_sub(len(&a) + len(&b) + 4).max(4);
    let bar = bar_of(value - lo, hi - lo, cells);
    let shown = match user {
        Some(u) => u.headline(value).format(value),
        None => format_value(None, value),
    };
    let head = format!(
        "{shown} ({:.0}% of {b})",
        ((value - lo) / (hi - lo) * 100.0).clamp(0.0, 999.0)
    );
    let dial = format!(
        "{a} [{bar}{}] {b}",
        "░".repeat(cells.saturating_sub(len(&bar)))
    );
    format!(
        "{}\n{}\n",
        truncate_chars(&head, width),
        truncate_chars(&dial, width)
    )
}

fn waterfall(data: &ChartData, user: Option<&NumberFormat>, width: usize, height: usize) -> String {
    let steps = crate::render::derive::waterfall_steps(data);
    if steps.is_empty() {
        return "No data\n".to_string();
    }
    let lo = steps
        .iter()
        .flat_map(|s| [s.start, s.end])
        .fold(0.0, f64::min);
    let hi = steps
        .iter()
        .flat_map(|s| [s.start, s.end])
        .fold(0.0, f64::max);
    let texts: Vec<String> = steps
        .iter()
        .map(|s| {
            let d = s.end - s.start;
            let t = format_value(user, d);
            if !s.total && d > 0.0 {
                format!("+{t}")
            } else {
                t
            }
        })
        .collect();
    let label_w = steps
        .iter()
        .map(|s| len(&s.label))
        .max()
        .unwrap_or(1)
        .min(width / 3)
        .max(1);
    let value_w = texts.iter().map(|t| len(t)).max().unwrap_or(1);
    let cells = width.saturating_sub(label_w + value_w + 4).max(4);
    let col = |v: f64| {
        if hi > lo {
            (((v - lo) / (hi - lo)) * cells as f64).round() as usize
        } else {
            0
        }
    };
    let shown = steps.len().min(height.max(2) - 1);
    let mut out = String::new();
    for (s, t) in steps.iter().zip(&texts).take(shown) {
        let (a, b) = (col(s.start.min(s.end)), col(s.start.max(s.end)));
        let mark = if s.total {
            '█'
        } else if s.end >= s.start {
            '▓'
        } else {
            '░'
        };
        let mut line: Vec<char> = vec![' '; cells];
        for c in line
            .iter_mut()
            .take(b.max(a + 1).min(cells))
            .skip(a.min(cells - 1))
        {
            *c = mark;
        }
        let bar: String = line.into_iter().collect();
        let row = format!("{} {bar}  {t:>value_w$}", padded(&s.label, label_w));
        out.push_str(&truncate_chars(row.trim_end(), width));
        out.push('\n');
    }
    if shown < steps.len() {
        out.push_str(&format!("… {} more\n", steps.len() - shown));
    }
    out.push_str(&truncate_chars("▓ up  ░ down  █ total", width));
    out.push('\n');
    out
}

fn heatmap(data: &ChartData, user: Option<&NumberFormat>, width: usize, height: usize) -> String {
    let xs = crate::render::derive::labels_of(data);
    let Some((lo, hi)) = crate::render::derive::value_range(data) else {
        return "No data\n".to_string();
    };
    const SHADES: [char; 5] = ['·', '░', '▒', '▓', '█'];
    let label_w = data
        .series
        .iter()
        .map(|s| len(&s.name))
        .max()
        .unwrap_or(1)
        .min(width / 3)
        .max(1);
    let cell = ((width.saturating_sub(label_w + 1)) / xs.len().max(1)).clamp(1, 12);
    let cols = xs.len().min(width.saturating_sub(label_w + 1) / cell);
    let mut out = String::new();
    let mut head = " ".repeat(label_w + 1);
    for x in xs.iter().take(cols) {
        head.push_str(&padded(x, cell.saturating_sub(1)));
        head.push(' ');
    }
    out.push_str(&truncate_chars(head.trim_end(), width));
    out.push('\n');
    let shown = data.series.len().min(height.saturating_sub(3).max(1));
    for s in data.series.iter().take(shown) {
        let mut row = format!("{} ", padded(&s.name, label_w));
        for i in 0..cols {
            let ch = match s.get(i) {
                Some(v) if hi > lo => SHADES[(((v - lo) / (hi - lo)) * 4.0).round() as usize],
                Some(_) => SHADES[4],
                None => ' ',
            };
            row.push_str(&ch.to_string().repeat(cell.saturating_sub(1)));
            row.push(' ');
        }
        out.push_str(&truncate_chars(row.trim_end(), width));
        out.push('\n');
    }
    if shown < data.series.len() || cols < xs.len() {
        let more = format!(
            "… {} more rows, {} more columns",
            data.series.len() - shown,
            xs.len() - cols
        );
        out.push_str(&truncate_chars(&more, width));
        out.push('\n');
    }
    out.push_str(&truncate_chars(
        &format!(
            "· {}  … █ {}",
            format_value(user, lo),
            format_value(user, hi)
        ),
        width,
    ));
    out.push('\n');
    out
}

fn box_plot(data: &ChartData, user: Option<&NumberFormat>, width: usize, height: usize) -> String {
    let labels = crate::render::derive::labels_of(data);
    let Some((lo, hi)) = crate::render::derive::value_range(data) else {
        return "No data\n".to_string();
    };
    if data.series.len() < 5 {
        return "No data\n".to_string();
    }
    let label_w = labels
        .iter()
        .map(|l| len(l))
        .max()
        .unwrap_or(1)
        .min(width / 3)
        .max(1);
    let cells = width.saturating_sub(label_w + 2).max(10);
    let col = |v: f64| {
        if hi > lo {
            ((((v - lo) / (hi - lo)) * (cells - 1) as f64).round() as usize).min(cells - 1)
        } else {
            cells / 2
        }
    };
    let mut out = String::new();
    let shown = labels.len().min(height.saturating_sub(3).max(1));
    for (i, label) in labels.iter().enumerate().take(shown) {
        let p: Vec<Option<f64>> = (0..5).map(|k| data.series[k].get(i)).collect();
        let [Some(wl), Some(q1), Some(med), Some(q3), Some(wh)] = p[..] else {
            continue;
        };
        let mut line: Vec<char> = vec![' '; cells];
        for c in line.iter_mut().take(col(wh) + 1).skip(col(wl)) {
            *c = '─';
        }
        for c in line.iter_mut().take(col(q3) + 1).skip(col(q1)) {
            *c = '█';
        }
        line[col(wl)] = '├';
        line[col(wh)] = '┤';
        line[col(med)] = '┃';
        let bar: String = line.into_iter().collect();
        let row = format!("{} {}", padded(label, label_w), bar.trim_end());
        out.push_str(&truncate_chars(&row, width));
        out.push('\n');
    }
    let (a, b) = (format_value(user, lo), format_value(user, hi));
    let scale = format!(
        "{}{a}{}{b}",
        " ".repeat(label_w + 1),
        " ".repeat(cells.saturating_sub(len(&a) + len(&b)))
    );
    out.push_str(&truncate_chars(&scale, width));
    out.push('\n');
    out.push_str(&truncate_chars(
        "├─ whiskers (1.5 × IQR) ─┤  █ q1 – q3  ┃ median",
        width,
    ));
    out.push('\n');
    out
}

/// Large digits, 3 columns by 5 rows each (4 for wide letters).
fn glyph(c: char) -> Option<[&'static str; 5]> {
    Some(match c {
        '0' => ["███", "█ █", "█ █", "█ █", "███"],
        '1' => ["▀█ ", " █ ", " █ ", " █ ", "▄█▄"],
        '2' => ["███", "  █", "███", "█  ", "███"],
        '3' => ["███", "  █", "███", "  █", "███"],
        '4' => ["█ █", "█ █", "███", "  █", "  █"],
        '5' => ["███", "█  ", "███", "  █", "███"],
        '6' => ["███", "█  ", "███", "█ █", "███"],
        '7' => ["███", "  █", "  █", "  █", "  █"],
        '8' => ["███", "█ █", "███", "█ █", "███"],
        '9' => ["███", "█ █", "███", "  █", "███"],
        '.' => [" ", " ", " ", " ", "▄"],
        ',' => [" ", " ", " ", "▄", "▌"],
        '-' => ["   ", "   ", "▀▀▀", "   ", "   "],
        '+' => ["   ", " ▄ ", "▀█▀", "   ", "   "],
        '%' => ["█ ▞", "  ▞", " ▞ ", "▞  ", "▞ █"],
        '$' => ["▄█▄", "█▄ ", " ▀▄", "  █", "▀█▀"],
        'K' => ["█ █", "█▄▀", "█▀▄", "█ █", "█ █"],
        'M' => ["█▄ ▄█", "█ ▀ █", "█   █", "█   █", "█   █"],
        'B' => ["██▄", "█ █", "██▄", "█ █", "██▀"],
        ' ' => [" ", " ", " ", " ", " "],
        _ => return None,
    })
}

fn big_text(text: &str) -> Option<Vec<String>> {
    let glyphs: Option<Vec<[&str; 5]>> = text.chars().map(glyph).collect();
    let glyphs = glyphs?;
    Some(
        (0..5)
            .map(|r| glyphs.iter().map(|g| g[r]).collect::<Vec<_>>().join(" "))
            .collect(),
    )
}

fn sparkline(values: &[f64], width: usize) -> String {
    if values.len() < 2 || width == 0 {
        return String::new();
    }
    // Average into at most `width` buckets so long histories still fit.
    let buckets = values.len().min(width);
    let per = values.len() as f64 / buckets as f64;
    let points: Vec<f64> = (0..buckets)
        .map(|b| {
            let (s, e) = (
                (b as f64 * per) as usize,
                (((b + 1) as f64 * per) as usize).max((b as f64 * per) as usize + 1),
            );
            let slice = &values[s..e.min(values.len())];
            slice.iter().sum::<f64>() / slice.len().max(1) as f64
        })
        .collect();
    let lo = points.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = points.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    points
        .iter()
        .map(|v| {
            let k = if hi > lo {
                ((v - lo) / (hi - lo) * 7.0).round() as usize
            } else {
                3
            };
            UP_EIGHTHS[k.min(7)]
        })
        .collect()
}

fn big_number(
    data: &ChartData,
    user: Option<&NumberFormat>,
    width: usize,
    height: usize,
) -> String {
    let Some(b) = big_number_of(data) else {
        return "No data\n".to_string();
    };
    let Some(value) = b.value.filter(|v| v.is_finite()) else {
        return "No data\n".to_string();
    };
    let text = format_value(user, value);
    let delta = b.previous.filter(|p| p.is_finite()).map(|p| {
        let arrow = if value > p {
            '▲'
        } else if value < p {
            '▼'
        } else {
            '■'
        };
        let against = match &b.comparison_label {
            Some(l) => format!("{l} ({})", format_value(user, p)),
            None => format!("vs {}", format_value(user, p)),
        };
        format!("{arrow} {}  {against}", format_delta(user, value, p))
    });
    let trend: Vec<f64> = b
        .trendline
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let mut lines: Vec<String> = Vec::new();
    let big = big_text(&text).filter(|g| g.iter().all(|l| len(l) <= width) && height >= 7);
    match big {
        Some(g) => {
            lines.push(String::new());
            lines.extend(g);
            lines.push(String::new());
            if let Some(d) = delta {
                lines.push(truncate_chars(&d, width));
            }
        }
        None => {
            let inner = [Some(text.clone()), delta.clone()]
                .into_iter()
                .flatten()
                .map(|l| truncate_chars(&l, width.saturating_sub(4)))
                .collect::<Vec<_>>();
            let w = inner.iter().map(|l| len(l)).max().unwrap_or(0);
            lines.push(format!("╭{}╮", "─".repeat(w + 2)));
            for l in inner {
                lines.push(format!("│ {l}{} │", " ".repeat(w - len(&l))));
            }
            lines.push(format!("╰{}╯", "─".repeat(w + 2)));
        }
    }
    if trend.len() >= 2 && lines.len() < height {
        lines.push(sparkline(&trend, width.min(60)));
    }
    let mut out = String::new();
    for l in lines.iter().take(height) {
        out.push_str(l.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::model::{ChartData, Series};
    use crate::render::samples::gallery;
    use std::time::Instant;

    fn check_bounds(text: &str, width: usize, height: usize, name: &str) {
        for line in text.lines() {
            assert!(
                len(line) <= width,
                "{name}: line of {} > {width}: {line:?}",
                len(line)
            );
        }
        assert!(
            text.lines().count() <= height + 1,
            "{name}: {} lines > {height}",
            text.lines().count()
        );
    }

    #[test]
    fn every_kind_stays_within_bounds() {
        for (name, spec, data) in gallery() {
            for (w, h) in [(80, 24), (40, 12), (20, 5), (160, 50)] {
                let text = render(&spec, &data, w, h);
                check_bounds(&text, w, h, &name);
                assert!(!text.trim().is_empty(), "{name}");
            }
        }
    }

    #[test]
    fn bars_axes_and_labels_show() {
        let g = gallery();
        let (_, spec, data) = g
            .iter()
            .find(|(n, _, _)| n == "bar_revenue_by_category")
            .unwrap();
        let text = render(spec, data, 80, 24);
        assert!(text.starts_with("Revenue by category, 2024\n"), "{text}");
        assert!(
            text.contains('█') && text.contains('┤') && text.contains('└'),
            "{text}"
        );
        assert!(
            text.contains("$1,200,000") || text.contains("$1,000,000"),
            "{text}"
        );
        assert!(text.contains("Electr"), "{text}");
    }

    #[test]
    fn lines_use_braille_and_multi_series_get_markers() {
        let g = gallery();
        let (_, spec, data) = g
            .iter()
            .find(|(n, _, _)| n == "line_revenue_by_channel")
            .unwrap();
        let text = render(spec, data, 80, 24);
        assert!(
            text.chars().any(|c| ('\u{2801}'..='\u{28ff}').contains(&c)),
            "{text}"
        );
        assert!(
            text.contains("● Online") && text.contains("◆ In-store"),
            "{text}"
        );
        assert!(text.contains("Jan 2024"), "{text}");
    }

    #[test]
    fn pie_is_a_percentage_list_and_big_number_has_a_delta() {
        let g = gallery();
        let (_, spec, data) = g.iter().find(|(n, _, _)| n == "pie_sales_mix").unwrap();
        let text = render(spec, data, 80, 24);
        assert!(
            text.contains("Electronics") && text.contains("30.0%"),
            "{text}"
        );
        let (_, spec, data) = g
            .iter()
            .find(|(n, _, _)| n == "big_number_revenue")
            .unwrap();
        let text = render(spec, data, 80, 24);
        assert!(text.contains("▲ +6.6%"), "{text}");
        let narrow = render(spec, data, 24, 8);
        assert!(
            narrow.contains('╭') && narrow.contains("$1,372,480"),
            "{narrow}"
        );
    }

    #[test]
    fn gaps_negative_values_and_empty_data() {
        let spec = RenderSpec::new("t", ChartKind::Line);
        let data = ChartData::series(
            XAxis::Categories((0..6).map(|i| i.to_string()).collect()),
            vec![Series::new(
                "s",
                vec![
                    Some(-3.0),
                    Some(2.0),
                    None,
                    Some(f64::NAN),
                    Some(4.0),
                    Some(-1.0),
                ],
            )],
        );
        let text = render(&spec, &data, 40, 12);
        assert!(text.contains('┈'), "zero line: {text}");
        let empty = ChartData::series(XAxis::Categories(vec![]), vec![]);
        assert!(render(&spec, &empty, 40, 12).contains("No data"));
    }

    #[test]
    fn ascii_is_fast() {
        let g = gallery();
        let (_, spec, data) = g
            .iter()
            .find(|(n, _, _)| n == "line_daily_orders_1000")
            .unwrap();
        let _ = render(spec, data, 100, 30);
        let start = Instant::now();
        for _ in 0..20 {
            let _ = render(spec, data, 100, 30);
        }
        let per = start.elapsed() / 20;
        // Debug builds are slow; the release number is printed by the bench binary.
        assert!(per.as_millis() < 50, "{per:?}");
    }
}
