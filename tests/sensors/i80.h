/* i80.h: a 32-bit (compat) system call of a 64-bit test program, int
 * 0x80, as an attacker would make one to pass monitors that watch only the
 * 64-bit table: ia32's number and registers (ebx, ecx, edx; esi and edi
 * 0). Pointers must lie below 4 GiB (mmap MAP_32BIT). x86-64 only. */
#ifndef YM_TESTS_SENSORS_I80_H
#define YM_TESTS_SENSORS_I80_H

#if defined(__x86_64__)
static inline long i80(long nr, unsigned long a, unsigned long b, unsigned long c)
{
	long r;

	__asm__ volatile("int $0x80"
			 : "=a"(r)
			 : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(0ul), "D"(0ul)
			 : "memory");
	return r;
}
#endif

#endif
