/* Minimal <stdbool.h> for the shim (see stdint.h). */
#ifndef IFX_STDBOOL_H
#define IFX_STDBOOL_H
#define bool _Bool
#define true 1
#define false 0
#endif
