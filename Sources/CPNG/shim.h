// libpng (Debian: libpng-dev). libpng reports fatal errors by longjmp, which Swift cannot
// express, so the decode lives in this small C function. Transforms match what Pillow keeps:
// palettes and low bit depths expanded to 8 bits, 16-bit samples cut to their high byte,
// transparency as an alpha channel, no gamma correction.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <png.h>

struct pointe_png_read {
    const unsigned char *data;
    size_t size;
    size_t offset;
    char message[256];
};

static void pointe_png_error(png_structp png, png_const_charp text) {
    struct pointe_png_read *state = (struct pointe_png_read *)png_get_error_ptr(png);
    snprintf(state->message, sizeof state->message, "%s", text);
    png_longjmp(png, 1);
}

static void pointe_png_warning(png_structp png, png_const_charp text) { (void)png; (void)text; }

static void pointe_png_source(png_structp png, png_bytep out, png_size_t count) {
    struct pointe_png_read *state = (struct pointe_png_read *)png_get_io_ptr(png);
    if (state->size - state->offset < count) png_error(png, "the PNG data is truncated");
    memcpy(out, state->data + state->offset, count);
    state->offset += count;
}

/// Reads a whole PNG held in memory with the transforms above: every row decoded (zlib stream,
/// filters, CRCs checked) and the chunks after the image read to IEND. With `pixels` the rows
/// land in one malloc'd buffer handed back (free() it); without, every row is decoded into the
/// same one-row buffer and dropped, which checks the file as fully as a decode does without
/// the image's memory. Returns 0, or -1 with `message` filled.
static inline int pointe_png_read(const unsigned char *data, size_t size, unsigned char **pixels,
                                  int *width, int *height, int *channels, char *message, size_t messageSize) {
    struct pointe_png_read state = { data, size, 0, "" };
    unsigned char *volatile out = NULL;
    png_bytep *volatile rows = NULL;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, pointe_png_error, pointe_png_warning);
    if (!png) { snprintf(message, messageSize, "libpng initialisation failed"); return -1; }
    png_infop info = png_create_info_struct(png);
    if (!info || setjmp(png_jmpbuf(png))) {
        snprintf(message, messageSize, "%s", state.message[0] ? state.message : "libpng initialisation failed");
        png_destroy_read_struct(&png, info ? &info : NULL, NULL);
        free(out);
        free(rows);
        return -1;
    }
    png_set_read_fn(png, &state, pointe_png_source);
    png_read_info(png, info);
    png_set_expand(png);
    png_set_strip_16(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int c = png_get_channels(png, info);
    size_t stride = png_get_rowbytes(png, info);
    out = (unsigned char *)malloc(pixels ? stride * h : stride);
    rows = (png_bytep *)malloc(sizeof(png_bytep) * h);
    if (!out || !rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < h; y++) rows[y] = pixels ? out + stride * y : out;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    *width = (int)w;
    *height = (int)h;
    *channels = c;
    if (pixels) *pixels = out; else free(out);
    return 0;
}

/// Decodes a PNG held in memory into 8-bit samples: channels 1 (gray), 2 (gray+alpha), 3 (RGB)
/// or 4 (RGBA). Returns 0 and a malloc'd buffer (free() it), or -1 with `message` filled.
static inline int pointe_png_decode(const unsigned char *data, size_t size, unsigned char **pixels,
                                    int *width, int *height, int *channels, char *message, size_t messageSize) {
    return pointe_png_read(data, size, pixels, width, height, channels, message, messageSize);
}

/// Checks that a PNG held in memory decodes in full, as `pointe_png_decode` would, keeping no
/// pixels. Returns 0 with its size and channels, or -1 with `message` filled.
static inline int pointe_png_validate(const unsigned char *data, size_t size,
                                      int *width, int *height, int *channels, char *message, size_t messageSize) {
    return pointe_png_read(data, size, NULL, width, height, channels, message, messageSize);
}
