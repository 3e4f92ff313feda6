/* splitmix64 over a thread-local state seeded by getrandom(2). */
#include "server/core/random.h"

#include <sys/random.h>
#include <unistd.h>

#include "server/core/clock.h"

uint64_t bff_random_u64(void)
{
    static __thread uint64_t state;
    static __thread int seeded;
    if (!seeded) {
        if (getrandom(&state, sizeof(state), GRND_NONBLOCK) != (ssize_t)sizeof(state))
            state = bff_now_us() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&state;
        seeded = 1;
    }
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
