/* compose/text.h: appends keep the buffer NUL-terminated, and printf output longer than the
 * room left grows the buffer and is written whole. */
#include "compose/text.h"

#include <stdlib.h>

#include "tests/unit/tap.h"

static void test_put_and_puts(void)
{
    bff_text_t t = {0};
    bff_text_put(&t, "", 0);
    ASSERT_STR_EQ(t.buf, "");
    bff_text_puts(&t, "abc");
    bff_text_put(&t, "defgh", 2);
    ASSERT_STR_EQ(t.buf, "abcde");
    ASSERT_INT_EQ(t.len, 5);
    free(t.buf);
}

static void test_printf_grows_past_the_room_left(void)
{
    bff_text_t t = {0};
    char want[4096] = "";
    for (int i = 0; i != 300; ++i) {
        bff_text_printf(&t, "%d,%s;", i, "x");
        snprintf(want + strlen(want), sizeof(want) - strlen(want), "%d,%s;", i, "x");
    }
    ASSERT_STR_EQ(t.buf, want);
    ASSERT_INT_EQ(t.len, strlen(want));
    char big[1000];
    memset(big, 'y', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    size_t before = t.len;
    bff_text_printf(&t, "[%s]", big);
    ASSERT_INT_EQ(t.len, before + 1001);
    ASSERT_TRUE(t.buf[before] == '[' && t.buf[t.len - 1] == ']' && t.buf[t.len] == '\0');
    free(t.buf);
}

int main(void)
{
    TAP_RUN(test_put_and_puts);
    TAP_RUN(test_printf_grows_past_the_room_left);
    TAP_DONE();
}
