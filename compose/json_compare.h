/* Orders two JSON values from scanned docs, for $filter comparisons and $sort keys: numbers by
 * value, strings by their unescaped bytes (so ISO dates order by time), true, false and null
 * only equal themselves. Pure, allocation-free for strings under 512 bytes. */
#ifndef BFF_COMPOSE_JSON_COMPARE_H
#define BFF_COMPOSE_JSON_COMPARE_H

#include "compose/json_scan.h"

/** Sets *cmp to <0, 0 or >0 and returns 0; returns -1 when the values do not compare (other
 * types, or containers). */
int bff_json_compare(const bff_jdoc_t *a, uint32_t atok, const bff_jdoc_t *b, uint32_t btok,
                     int *cmp);

#endif
