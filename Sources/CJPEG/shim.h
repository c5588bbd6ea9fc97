// libjpeg-turbo (Debian: libjpeg62-turbo-dev). libjpeg reports fatal errors through a callback
// that must not return (it longjmps), which Swift cannot express, so the whole decode lives in
// this small C function: default decode settings (ISLOW DCT, fancy upsampling), as Pillow uses.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <jpeglib.h>

struct pointe_jpeg_error {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

static void pointe_jpeg_error_exit(j_common_ptr info) {
    struct pointe_jpeg_error *err = (struct pointe_jpeg_error *)info->err;
    (*info->err->format_message)(info, err->message);
    longjmp(err->jump, 1);
}

static void pointe_jpeg_silent(j_common_ptr info, int level) { (void)info; (void)level; }

/// Decodes a JPEG held in memory. On success returns 0 and a malloc'd buffer of
/// width x height x channels bytes (channels 1 for grayscale, 3 for RGB, 4 for CMYK as stored);
/// on failure returns -1 with `message` filled. The caller frees `*pixels` with free().
static inline int pointe_jpeg_decode(const unsigned char *data, unsigned long size, unsigned char **pixels,
                                     int *width, int *height, int *channels, int *isCMYK, char *message, size_t messageSize) {
    struct jpeg_decompress_struct info;
    struct pointe_jpeg_error err;
    unsigned char *volatile out = NULL;
    memset(&info, 0, sizeof info);
    info.err = jpeg_std_error(&err.base);
    err.base.error_exit = pointe_jpeg_error_exit;
    err.base.emit_message = pointe_jpeg_silent;
    err.message[0] = 0;
    if (setjmp(err.jump)) {
        snprintf(message, messageSize, "%s", err.message);
        jpeg_destroy_decompress(&info);
        free(out);
        return -1;
    }
    jpeg_create_decompress(&info);
    jpeg_mem_src(&info, data, size);
    jpeg_read_header(&info, TRUE);
    *isCMYK = info.jpeg_color_space == JCS_CMYK || info.jpeg_color_space == JCS_YCCK;
    if (info.num_components == 1) info.out_color_space = JCS_GRAYSCALE;
    else if (*isCMYK) info.out_color_space = JCS_CMYK;
    else info.out_color_space = JCS_RGB;
    jpeg_start_decompress(&info);
    size_t stride = (size_t)info.output_width * (size_t)info.output_components;
    out = (unsigned char *)malloc(stride * info.output_height);
    if (!out) {
        snprintf(message, messageSize, "out of memory for %ux%u pixels", info.output_width, info.output_height);
        jpeg_destroy_decompress(&info);
        return -1;
    }
    while (info.output_scanline < info.output_height) {
        JSAMPROW row = out + stride * info.output_scanline;
        jpeg_read_scanlines(&info, &row, 1);
    }
    jpeg_finish_decompress(&info);
    *width = (int)info.output_width;
    *height = (int)info.output_height;
    *channels = info.output_components;
    *pixels = out;
    jpeg_destroy_decompress(&info);
    return 0;
}
