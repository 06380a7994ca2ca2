//! Picture formats a chart can be returned in, and the one function that draws any of them
//! (run on the screenshot actor's render threads, never on a tool worker).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::render::{self, ChartData, RenderSpec, TableLimits};

/// Default picture size in pixels.
pub const DEFAULT_WIDTH: u32 = 800;
pub const DEFAULT_HEIGHT: u32 = 600;

/// What `get_chart_preview` and the chart tools can return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PreviewFormat {
    /// A PNG image (MCP image content).
    Png,
    /// An SVG document.
    Svg,
    /// A terminal chart drawn with characters.
    Ascii,
    /// The data as an aligned text table.
    Table,
    /// A Vega-Lite v5 spec with the data inline.
    VegaLite,
}

impl PreviewFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            PreviewFormat::Png => "png",
            PreviewFormat::Svg => "svg",
            PreviewFormat::Ascii => "ascii",
            PreviewFormat::Table => "table",
            PreviewFormat::VegaLite => "vega_lite",
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            PreviewFormat::Png => "image/png",
            PreviewFormat::Svg => "image/svg+xml",
            PreviewFormat::Ascii | PreviewFormat::Table => "text/plain",
            PreviewFormat::VegaLite => "application/vnd.vegalite.v5+json",
        }
    }
}

/// Terminal size for an ASCII chart of a picture `width` × `height` pixels (800×600 →
/// 100×30 characters).
pub fn ascii_size(width: u32, height: u32) -> (usize, usize) {
    (
        (width / 8).clamp(40, 200) as usize,
        (height / 20).clamp(12, 60) as usize,
    )
}

/// Draw the chart in `format`: the bytes (UTF-8 for text formats).
pub fn draw(format: PreviewFormat, spec: &RenderSpec, data: &ChartData) -> Result<Vec<u8>, String> {
    match format {
        PreviewFormat::Png => render::render_png(spec, data).map_err(|e| e.to_string()),
        PreviewFormat::Svg => render::render_svg(spec, data)
            .map(String::into_bytes)
            .map_err(|e| e.to_string()),
        PreviewFormat::Ascii => {
            let (w, h) = ascii_size(spec.width, spec.height);
            Ok(render::render_ascii(spec, data, w, h).into_bytes())
        }
        PreviewFormat::Table => {
            Ok(render::render_table(spec, data, &TableLimits::default()).into_bytes())
        }
        PreviewFormat::VegaLite => {
            serde_json::to_vec(&render::vega_lite(spec, data)).map_err(|e| e.to_string())
        }
    }
}
