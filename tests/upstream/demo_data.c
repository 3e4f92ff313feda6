/* The deterministic demo data: users, orders, products, recommendations and shipments derived from
 * nothing but a hash of the id, so any id answers, and always with the same data. */
#include "demo_upstream.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "h2o.h"

#define PICK(table, h, salt) ((table)[mix((h), (salt)) % ARRAY_SIZE(table)])

static const char *const FIRST_NAMES[] = {"Anna",  "Ben",  "Clara",  "David", "Elena", "Felix",
                                          "Greta", "Hugo", "Ines",   "Jonas", "Klara", "Lukas",
                                          "Mia",   "Noah", "Olivia", "Paul"};
static const char *const LAST_NAMES[] = {
    "Becker", "Fischer",  "Garcia", "Hoffmann", "Jansen",    "Keller", "Lambert", "Martin",
    "Novak",  "Oliveira", "Petrov", "Rossi",    "Schneider", "Weber",  "Young",   "Zimmermann"};
static const char *const STREETS[] = {"Market Street", "Lindenallee", "Rue de Rivoli",
                                      "Calle Mayor",   "Via Roma",    "High Street",
                                      "Kaiserstrasse", "Park Lane"};
static const struct city {
    const char *name, *country;
    unsigned zip_min, zip_span;
} CITIES[] = {{"Berlin", "DE", 10115, 4000},  {"Munich", "DE", 80331, 1500},
              {"Hamburg", "DE", 20095, 2000}, {"Paris", "FR", 75001, 20},
              {"Lyon", "FR", 69001, 9},       {"Madrid", "ES", 28001, 80},
              {"Rome", "IT", 118, 200},       {"Amsterdam", "NL", 1011, 100},
              {"Vienna", "AT", 1010, 230},    {"Zurich", "CH", 8001, 60}};
static const char *const LANGUAGES[] = {"en", "de", "fr", "es", "it", "nl"};
static const char *const CURRENCIES[] = {"EUR", "EUR", "EUR", "USD", "GBP", "CHF"};
static const char *const THEMES[] = {"light", "dark", "system"};
static const char *const TIERS[] = {"gold", "silver", "bronze"};
static const char *const NOTES[] = {"VIP customer", "prefers email contact", "chargeback in 2023",
                                    "manual review pending", "none"};
static const char *const ADJECTIVES[] = {"Classic", "Smart",   "Organic", "Wireless", "Vintage",
                                         "Compact", "Premium", "Eco",     "Ultra",    "Handmade"};
static const char *const NOUNS[] = {"Backpack",   "Headphones",   "Coffee Beans", "Desk Lamp",
                                    "Sneakers",   "Water Bottle", "Notebook",     "Keyboard",
                                    "Sunglasses", "Tea Set",      "Yoga Mat",     "Blender"};
static const char *const ORDER_STATUSES[] = {"shipped", "processing", "delivered", "cancelled"};
static const struct ship_method {
    const char *name;
    unsigned cost_cents;
} SHIP_METHODS[] = {{"standard", 499}, {"express", 1299}, {"pickup", 0}};
static const char *const WAREHOUSES[] = {"FRA-1", "BER-2", "AMS-1", "MAD-3"};
static const struct carrier {
    const char *name, *prefix;
} CARRIERS[] = {{"DHL", "JD"}, {"UPS", "1Z"}, {"DPD", "05"}, {"GLS", "GL"}, {"FedEx", "FX"}};
static const char *const SHIP_STATUSES[] = {"label_created", "in_transit", "out_for_delivery",
                                            "delivered"};
static const unsigned COPRIME_STEPS[] = {7, 13, 17, 19, 23, 29, 31, 37, 41, 43};

uint64_t fnv1a(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i != len; ++i) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* splitmix64 finaliser: derives independent values from one id hash */
static uint64_t mix(uint64_t h, unsigned salt)
{
    uint64_t z = h + 0x9e3779b97f4a7c15ull * (salt + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

unsigned pick(uint64_t h, unsigned salt, unsigned n)
{
    return (unsigned)(mix(h, salt) % n);
}

static void write_datetime(jbuf_t *b, unsigned year, uint64_t h, unsigned salt)
{
    jb_fmt(b, "\"%u-%02u-%02uT%02u:%02u:%02uZ\"", year, 1 + pick(h, salt, 12),
           1 + pick(h, salt + 1, 28), pick(h, salt + 2, 24), pick(h, salt + 3, 60),
           pick(h, salt + 4, 60));
}

static void write_address(jbuf_t *b, uint64_t user_hash)
{
    const struct city *c = &PICK(CITIES, user_hash, 20);
    jb_fmt(b, "{\"street\":\"%u %s\",\"city\":\"%s\",\"zip\":\"%0*u\",\"country\":\"%s\"}",
           1 + pick(user_hash, 21, 199), PICK(STREETS, user_hash, 22), c->name,
           c->zip_min < 1000 ? 5 : 0, c->zip_min + pick(user_hash, 23, c->zip_span), c->country);
}

void write_user(jbuf_t *b, h2o_iovec_t id)
{
    uint64_t h = fnv1a(id.base, id.len);
    const char *first = PICK(FIRST_NAMES, h, 1), *last = PICK(LAST_NAMES, h, 2);

    JB_LIT(b, "{\"id\":");
    jb_str(b, id);
    jb_fmt(b, ",\"firstName\":\"%s\",\"lastName\":\"%s\",\"email\":\"", first, last);
    jb_lower(b, first);
    JB_LIT(b, ".");
    jb_lower(b, last);
    jb_fmt(b, "%u@example.com\",\"phone\":\"+49 30 %07u\",\"tier\":\"%s\",\"createdAt\":",
           pick(h, 3, 1000), pick(h, 4, 10000000), PICK(TIERS, h, 5));
    write_datetime(b, 2024, h, 6);
    JB_LIT(b, ",\"address\":");
    write_address(b, h);
    jb_fmt(b,
           ",\"preferences\":{\"language\":\"%s\",\"currency\":\"%s\",\"newsletter\":%s,"
           "\"theme\":\"%s\"},\"internal\":{\"passwordHash\":\"$2b$12$%016" PRIx64 "%016" PRIx64
           "\",\"riskScore\":%u,\"notes\":\"%s\"}}",
           PICK(LANGUAGES, h, 12), PICK(CURRENCIES, h, 13), pick(h, 14, 2) ? "true" : "false",
           PICK(THEMES, h, 15), mix(h, 16), mix(h, 17), pick(h, 18, 100), PICK(NOTES, h, 19));
}

struct product {
    const char *adj, *noun;
    unsigned price_cents, rating10, score;
};

static void product_info(struct product *p, const char *id, size_t len)
{
    uint64_t h = fnv1a(id, len);
    p->adj = PICK(ADJECTIVES, h, 1);
    p->noun = PICK(NOUNS, h, 2);
    p->price_cents = 499 + pick(h, 3, 19500);
    p->rating10 = 10 + pick(h, 4, 41);
    p->score = pick(h, 5, 1000);
}

void write_product(jbuf_t *b, h2o_iovec_t id)
{
    struct product p;
    product_info(&p, id.base, id.len);
    JB_LIT(b, "{\"id\":");
    jb_str(b, id);
    jb_fmt(b,
           ",\"name\":\"%s %s\",\"price\":%u.%02u,\"currency\":\"EUR\",\"rating\":%u.%u,"
           "\"image\":\"https://img.example/",
           p.adj, p.noun, p.price_cents / 100, p.price_cents % 100, p.rating10 / 10,
           p.rating10 % 10);
    jb_escape(b, id.base, id.len);
    jb_fmt(b, ".jpg\",\"internalScore\":%u}", p.score);
}

static h2o_iovec_t catalog_id(char *buf, size_t bufsz, unsigned n)
{
    int len = snprintf(buf, bufsz, "p-%03u", n % 1000);
    return h2o_iovec_init(buf, (size_t)len);
}

struct order_item {
    char sku[16];
    size_t sku_len;
    unsigned qty;
    struct product p;
};

static unsigned order_items(struct order_item *items, uint64_t h)
{
    unsigned n = 1 + pick(h, 1, 3);
    for (unsigned i = 0; i != n; ++i) {
        h2o_iovec_t sku = catalog_id(items[i].sku, sizeof(items[i].sku), pick(h, 10 + i, 1000));
        items[i].sku_len = sku.len;
        items[i].qty = 1 + pick(h, 20 + i, 3);
        product_info(&items[i].p, sku.base, sku.len);
    }
    return n;
}

static void write_order_items(jbuf_t *b, const struct order_item *items, unsigned n)
{
    JB_LIT(b, ",\"items\":[");
    for (unsigned i = 0; i != n; ++i)
        jb_fmt(b, "%s{\"sku\":\"%.*s\",\"name\":\"%s %s\",\"qty\":%u,\"price\":%u.%02u}",
               i ? "," : "", (int)items[i].sku_len, items[i].sku, items[i].p.adj, items[i].p.noun,
               items[i].qty, items[i].p.price_cents / 100, items[i].p.price_cents % 100);
    JB_LIT(b, "]");
}

void write_order(jbuf_t *b, h2o_iovec_t order_id, h2o_iovec_t user_id)
{
    uint64_t h = fnv1a(order_id.base, order_id.len);
    const struct ship_method *ship = &PICK(SHIP_METHODS, h, 2);
    struct order_item items[3];
    unsigned n = order_items(items, h), total = ship->cost_cents;

    for (unsigned i = 0; i != n; ++i)
        total += items[i].qty * items[i].p.price_cents;
    JB_LIT(b, "{\"id\":");
    jb_str(b, order_id);
    JB_LIT(b, ",\"userId\":");
    jb_str(b, user_id);
    JB_LIT(b, ",\"date\":");
    write_datetime(b, 2026, h, 3);
    jb_fmt(b, ",\"status\":\"%s\",\"total\":%u.%02u,\"currency\":\"EUR\"",
           PICK(ORDER_STATUSES, h, 8), total / 100, total % 100);
    write_order_items(b, items, n);
    jb_fmt(b, ",\"shipping\":{\"method\":\"%s\",\"cost\":%u.%02u,\"address\":", ship->name,
           ship->cost_cents / 100, ship->cost_cents % 100);
    write_address(b, fnv1a(user_id.base, user_id.len));
    jb_fmt(b,
           "},\"billing\":{\"method\":\"card\",\"last4\":\"%04u\"},"
           "\"internal\":{\"margin\":0.%02u,\"warehouse\":\"%s\"}}",
           pick(h, 30, 10000), 5 + pick(h, 31, 41), PICK(WAREHOUSES, h, 32));
}

/* "o-<userId>-<n>" gives <userId>; other order ids get a stable numeric owner */
h2o_iovec_t order_owner(h2o_mem_pool_t *pool, h2o_iovec_t order_id)
{
    size_t dash = order_id.len;
    char *buf;
    while (dash > 2 && order_id.base[dash - 1] >= '0' && order_id.base[dash - 1] <= '9')
        --dash;
    if (order_id.len > 2 && memcmp(order_id.base, "o-", 2) == 0 && dash > 3 &&
        dash < order_id.len && order_id.base[dash - 1] == '-')
        return h2o_iovec_init(order_id.base + 2, dash - 3);
    buf = h2o_mem_alloc_pool(pool, 24);
    return h2o_iovec_init(
        buf, (size_t)snprintf(buf, 24, "%u", pick(fnv1a(order_id.base, order_id.len), 40, 100000)));
}

void write_orders(jbuf_t *b, h2o_mem_pool_t *pool, h2o_iovec_t user_id, uint64_t limit)
{
    size_t idcap = user_id.len + 24;
    char *idbuf = h2o_mem_alloc_pool(pool, idcap);
    JB_LIT(b, "{\"userId\":");
    jb_str(b, user_id);
    JB_LIT(b, ",\"orders\":[");
    for (uint64_t k = 1; k <= limit; ++k) {
        int len = snprintf(idbuf, idcap, "o-%.*s-%" PRIu64, (int)user_id.len, user_id.base, k);
        if (k != 1)
            JB_LIT(b, ",");
        write_order(b, h2o_iovec_init(idbuf, (size_t)len), user_id);
    }
    JB_LIT(b, "]}");
}

void write_recommendations(jbuf_t *b, h2o_iovec_t user_id, uint64_t limit)
{
    uint64_t h = fnv1a(user_id.base, user_id.len);
    unsigned base = pick(h, 1, 1000), step = PICK(COPRIME_STEPS, h, 2);
    char idbuf[16];
    JB_LIT(b, "{\"userId\":");
    jb_str(b, user_id);
    JB_LIT(b, ",\"products\":[");
    for (unsigned i = 0; i != limit; ++i) { /* step is coprime to 1000: no duplicates */
        if (i != 0)
            JB_LIT(b, ",");
        write_product(b, catalog_id(idbuf, sizeof(idbuf), base + i * step));
    }
    JB_LIT(b, "]}");
}

void write_product_batch(jbuf_t *b, h2o_mem_pool_t *pool, h2o_iovec_t ids)
{
    const char *p = ids.base, *end = ids.base + ids.len;
    unsigned count = 0;
    JB_LIT(b, "{\"products\":[");
    while (p < end && count < MAX_LIMIT) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        if (comma == NULL)
            comma = end;
        if (comma != p) {
            if (count++ != 0)
                JB_LIT(b, ",");
            write_product(b, url_decode(pool, h2o_iovec_init(p, (size_t)(comma - p))));
        }
        p = comma + 1;
    }
    JB_LIT(b, "]}");
}

void write_shipment(jbuf_t *b, h2o_iovec_t order_id)
{
    uint64_t h = fnv1a(order_id.base, order_id.len);
    const struct carrier *c = &PICK(CARRIERS, h, 1);
    unsigned n = 2 + pick(h, 2, 2), month = 1 + pick(h, 3, 6), day = 1 + pick(h, 4, 20);

    JB_LIT(b, "{\"orderId\":");
    jb_str(b, order_id);
    jb_fmt(b,
           ",\"carrier\":\"%s\",\"trackingNumber\":\"%s%010" PRIu64 "\",\"status\":\"%s\","
           "\"eta\":\"2026-%02u-%02u\",\"events\":[",
           c->name, c->prefix, mix(h, 5) % UINT64_C(10000000000), SHIP_STATUSES[n - 1], month,
           day + n + 1);
    for (unsigned i = 0; i != n; ++i)
        jb_fmt(b, "%s{\"at\":\"2026-%02u-%02uT%02u:%02u:00Z\",\"status\":\"%s\"}", i ? "," : "",
               month, day + i, 6 + pick(h, 10 + i, 14), pick(h, 20 + i, 60), SHIP_STATUSES[i]);
    JB_LIT(b, "]}");
}
