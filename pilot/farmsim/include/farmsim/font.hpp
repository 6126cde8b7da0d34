#pragma once
// The plot's text: a 5 x 7 pixel bitmap font for printable ASCII, embedded so the simulator
// draws its figure without a font library or a font file. Nothing here throws.

namespace pilot::farmsim {

constexpr int kGlyphWidth = 5;
constexpr int kGlyphHeight = 7;
constexpr int kGlyphAdvance = 6;  // one blank column between characters

// Whether pixel (x, y) of `c`'s glyph is set, (0, 0) its top left; x, y outside the glyph are
// unset. A character outside ' '..'~' is drawn as '?'.
bool glyph_pixel(char c, int x, int y);

}  // namespace pilot::farmsim
