/*
 * boot-marker.S: a 512-byte x86 boot sector for the libvirt harness
 * (tests/integration/libvirt-harness.sh).
 *
 * The BIOS loads it from LBA 0 of the boot disk to 0000:7C00 and jumps
 * there with DL = the boot drive. It builds one marker sector at 0000:7E00
 * ("POOLD-MARKER" followed by 500 zero bytes), writes it to LBA 1 of the
 * boot drive with INT 13h AH=03h (CHS: cylinder 0, head 0, sector 2 = LBA 1),
 * reports the outcome on COM1 (port 0x3F8: "POOLD-MARKER written\r\n" or
 * "POOLD-MARKER int13 failed\r\n") and halts with interrupts off.
 *
 * The guest never touches anything else: what the test reads back at LBA 1
 * through the iSCSI target proves the whole path guest -> QEMU iscsi:// ->
 * poold's target -> PV.
 *
 * Build (GNU binutils only, no nasm):
 *   as --32 -o boot-marker.o boot-marker.S
 *   ld -m elf_i386 -Ttext 0x7c00 --oformat binary -e start -o boot-marker.bin boot-marker.o
 * boot-marker.bin is committed next to this file; the test rebuilds it when
 * `as` and `ld` are installed and checks the two are identical.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
        .code16
        .text
        .globl start
start:
        cli
        xorw    %ax, %ax
        movw    %ax, %ds
        movw    %ax, %es
        movw    %ax, %ss
        movw    $0x7c00, %sp
        sti
        cld

        /* the marker sector at 0000:7E00: 512 zero bytes ... */
        movw    $0x7e00, %di
        movw    $512, %cx
        xorb    %al, %al
        rep stosb
        /* ... with the marker text at its start */
        movw    $marker, %si
        movw    $0x7e00, %di
        movw    $marker_len, %cx
        rep movsb

        /* INT 13h AH=03h: write AL=1 sector from ES:BX to C0/H0/S2 of drive DL */
        movw    $3, %bp                 /* tries (the BIOS may need a reset) */
write:
        movw    $0x0301, %ax
        movw    $0x0002, %cx
        xorb    %dh, %dh
        movw    $0x7e00, %bx
        int     $0x13
        jnc     ok
        xorb    %ah, %ah                /* AH=00h: reset the disk system */
        int     $0x13
        decw    %bp
        jnz     write
        movw    $msg_fail, %si
        jmp     report
ok:
        movw    $msg_ok, %si
report:
        movw    $0x3f8, %dx
1:      lodsb
        testb   %al, %al
        jz      halt
        outb    %al, %dx
        jmp     1b

halt:
        cli
        hlt
        jmp     halt

marker:
        .ascii  "POOLD-MARKER"
        .set    marker_len, . - marker
msg_ok:
        .asciz  "POOLD-MARKER written\r\n"
msg_fail:
        .asciz  "POOLD-MARKER int13 failed\r\n"

        .org    510
        .byte   0x55, 0xaa
