/* families: the registration table of telemetry family modules (family.h).
 * The entries come from YM_FAMILY_OPS in families.cmake, grouped by family in
 * preference order, through the generated family_list.h. */
#include "family.h"

#include <stddef.h>

#define YM_FAMILY(ops) extern const struct family_ops ops;
#include "family_list.h"
#undef YM_FAMILY

#define YM_FAMILY(ops) &ops,
const struct family_ops *const family_table[] = {
#include "family_list.h"
    NULL,
};
#undef YM_FAMILY
