/* Minimal <stddef.h> for the shim (see stdint.h). */
#ifndef IFX_STDDEF_H
#define IFX_STDDEF_H
typedef unsigned long size_t;
typedef long ptrdiff_t;
#ifndef NULL
#define NULL ((void *)0)
#endif
#define offsetof(type, member) ((size_t) & ((type *)0)->member)
#endif
