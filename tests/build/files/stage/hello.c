/* Compiled in the build test's builder stage (tests/build/apps.kdl, stage bt-hello). */
#include <stdio.h>

int main(void) {
    puts("hello from a builder stage");
    return 0;
}
