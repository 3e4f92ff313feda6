/* Replays a fuzz corpus (files or folders given as arguments) through LLVMFuzzerTestOneInput,
 * so the plain test suite re-runs every stored input without needing clang's libFuzzer. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        perror(path);
        return -1;
    }
    size_t cap = 1 << 16, len = 0, r;
    uint8_t *buf = malloc(cap);
    while (buf != NULL && (r = fread(buf + len, 1, cap - len, fp)) > 0) {
        len += r;
        if (len == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(fp);
    if (buf == NULL)
        return -1;
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

static int replay(const char *path, unsigned *count)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        perror(path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        ++*count;
        return replay_file(path);
    }
    DIR *dir = opendir(path);
    if (dir == NULL)
        return -1;
    struct dirent *de;
    int ret = 0;
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char child[4096];
        snprintf(child, sizeof(child), "%s/%s", path, de->d_name);
        if (replay(child, count) != 0)
            ret = -1;
    }
    closedir(dir);
    return ret;
}

int main(int argc, char **argv)
{
    unsigned count = 0;
    for (int i = 1; i < argc; ++i)
        if (replay(argv[i], &count) != 0)
            return 1;
    printf("replayed %u inputs\n", count);
    return count == 0 ? 1 : 0;
}
