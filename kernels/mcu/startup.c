// startup.c: reset handler, vector table and semihosting exit for edgebuild's bare-metal firmware (Cortex-M under
// qemu-system-arm or a real board with a debugger attached).
//
// Not newlib's semihosting crt0: that one asks the debugger (QEMU) where heap and stack go, and QEMU places them in
// ITCM on mps3-an547. Here the linker script (boards/<board>.ld) decides: __stack_top, .data's load and run
// addresses, .bss. The reset handler enables the FPU (and MVE on Cortex-M55: both use CP10/CP11), copies .data,
// zeroes .bss, sets up semihosting file handles, splits the command line QEMU passes (SYS_GET_CMDLINE: the
// `-semihosting-config arg=` values) into argv, calls main and exits with its status through SYS_EXIT_EXTENDED,
// which is how the status reaches QEMU's own exit code (plain SYS_EXIT carries no status).
#include <stdint.h>
#include <string.h>

extern uint32_t __stack_top, __data_load, __data_start, __data_end, __bss_start, __bss_end;
extern int main(int argc, char** argv);
extern void initialise_monitor_handles(void);  // newlib's rdimon (--specs=rdimon.specs)

enum { kSysGetCmdline = 0x15, kSysExitExtended = 0x20, kAdpStoppedApplicationExit = 0x20026 };

static int semihost(int op, void* arg) {
  register int r0 __asm__("r0") = op;
  register void* r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

void _exit(int status) {
  uint32_t block[2] = {kAdpStoppedApplicationExit, (uint32_t)status};
  for (;;) semihost(kSysExitExtended, block);
}

enum { kMaxArgs = 15 };
static char cmdline[512];
static char* argv[kMaxArgs + 1];

static int split_cmdline(void) {
  uint32_t block[2] = {(uint32_t)(uintptr_t)cmdline, sizeof cmdline - 1};
  if (semihost(kSysGetCmdline, block) != 0) return 0;
  int argc = 0;
  char* p = cmdline;
  while (*p != '\0' && argc < kMaxArgs) {
    while (*p == ' ') *p++ = '\0';
    if (*p == '\0') break;
    argv[argc++] = p;
    while (*p != '\0' && *p != ' ') ++p;
  }
  argv[argc] = NULL;
  return argc;
}

void Reset_Handler(void) {
  volatile uint32_t* const cpacr = (volatile uint32_t*)0xE000ED88u;
  *cpacr |= 0xFu << 20;  // CP10 and CP11 full access: the FPU, and MVE on Armv8.1-M
  __asm__ volatile("dsb\n\tisb" ::: "memory");
  memcpy(&__data_start, &__data_load, (size_t)((char*)&__data_end - (char*)&__data_start));
  memset(&__bss_start, 0, (size_t)((char*)&__bss_end - (char*)&__bss_start));
  initialise_monitor_handles();
  const int argc = split_cmdline();
  _exit(main(argc, argv));
}

// Any fault ends the run with status 3 (no handler can do better without a debugger attached).
static void Fault_Handler(void) { _exit(3); }

__attribute__((section(".vectors"), used)) const void* const eb_vectors[16] = {
    &__stack_top,
    (const void*)Reset_Handler,
    (const void*)Fault_Handler,
    (const void*)Fault_Handler,
    (const void*)Fault_Handler,
    (const void*)Fault_Handler,
    (const void*)Fault_Handler,
    (const void*)Fault_Handler,
};
