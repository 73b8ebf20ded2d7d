/* Minimal <stdio.h>: llama.h and ggml.h only name FILE in prototypes the shim never calls. */
#ifndef IFX_STDIO_H
#define IFX_STDIO_H
typedef struct _IFX_FILE FILE;
#endif
