# bpf.cmake: builds eBPF CO-RE programs and their libbpf skeletons.
#
#   ym_bpf_skeleton(<name>)
#
# compiles agent/bpf/<name>.bpf.c (from the calling folder's bpf/ subfolder)
# with clang -target bpf against a vmlinux.h generated once per build folder
# from the running kernel's BTF, and generates <name>.skel.h with
# `bpftool gen skeleton`. It defines the target ym_bpf_<name> and adds the
# generated folder (${YM_BPF_OUT}) to YM_BPF_INCLUDE, so a loader includes
# "<name>.skel.h". Nothing generated is committed.
#
# Needs clang, bpftool and /sys/kernel/btf/vmlinux (or YM_VMLINUX_BTF). When
# one is missing, YM_BPF is OFF and ym_bpf_skeleton() does nothing: the agent
# is then built without eBPF sensors (it falls back per family at run time).
include_guard(GLOBAL)

find_program(YM_CLANG NAMES clang clang-14 clang-15 clang-16)
find_program(YM_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin /usr/local/sbin)
set(YM_VMLINUX_BTF "/sys/kernel/btf/vmlinux" CACHE FILEPATH "kernel BTF that vmlinux.h is made from")
pkg_check_modules(LIBBPF IMPORTED_TARGET libbpf)

if(YM_CLANG AND YM_BPFTOOL AND EXISTS "${YM_VMLINUX_BTF}" AND LIBBPF_FOUND)
	set(YM_BPF ON)
else()
	set(YM_BPF OFF)
	message(WARNING "eBPF sensors disabled: need clang, bpftool, libbpf-dev and ${YM_VMLINUX_BTF}")
endif()

set(YM_BPF_OUT "${CMAKE_BINARY_DIR}/bpf")
set(YM_BPF_INCLUDE "${YM_BPF_OUT}")
set(YM_BPF_ARCH x86)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
	set(YM_BPF_ARCH arm64)
endif()

if(YM_BPF AND NOT TARGET ym_bpf_vmlinux)
	file(MAKE_DIRECTORY "${YM_BPF_OUT}")
	add_custom_command(OUTPUT "${YM_BPF_OUT}/vmlinux.h"
		COMMAND ${YM_BPFTOOL} btf dump file ${YM_VMLINUX_BTF} format c > vmlinux.h.tmp
		COMMAND ${CMAKE_COMMAND} -E rename vmlinux.h.tmp vmlinux.h
		WORKING_DIRECTORY "${YM_BPF_OUT}"
		COMMENT "vmlinux.h from ${YM_VMLINUX_BTF}"
		VERBATIM)
	add_custom_target(ym_bpf_vmlinux DEPENDS "${YM_BPF_OUT}/vmlinux.h")
endif()

function(ym_bpf_skeleton name)
	if(NOT YM_BPF)
		return()
	endif()
	set(src "${CMAKE_CURRENT_SOURCE_DIR}/bpf/${name}.bpf.c")
	set(full "${YM_BPF_OUT}/${name}.bpf.debug.o")
	set(obj "${YM_BPF_OUT}/${name}.bpf.o")
	set(skel "${YM_BPF_OUT}/${name}.skel.h")
	# every shared header of the bpf folder: a change rebuilds the program
	file(GLOB hdrs "${CMAKE_CURRENT_SOURCE_DIR}/bpf/*.h")
	# -g makes the BTF that CO-RE needs, and DWARF beside it; the skeleton
	# embeds the object, which libbpf reads whole at load, so the DWARF
	# (~640 KB of a 720-745 KB object) would be resident in the agent for
	# nothing: "gen object" keeps BTF and drops DWARF
	add_custom_command(OUTPUT "${obj}"
		COMMAND ${YM_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_${YM_BPF_ARCH}
			-Wall -Werror -I${YM_BPF_OUT} -I${CMAKE_CURRENT_SOURCE_DIR}/bpf
			-c ${src} -o ${full}
		COMMAND ${YM_BPFTOOL} gen object ${obj} ${full}
		DEPENDS "${src}" ${hdrs} "${YM_BPF_OUT}/vmlinux.h" ym_bpf_vmlinux
		COMMENT "BPF ${name}.bpf.c"
		VERBATIM)
	add_custom_command(OUTPUT "${skel}"
		COMMAND ${YM_BPFTOOL} gen skeleton ${obj} name ${name}_bpf > ${skel}.tmp
		COMMAND ${CMAKE_COMMAND} -E rename ${skel}.tmp ${skel}
		DEPENDS "${obj}"
		COMMENT "skeleton ${name}.skel.h"
		VERBATIM)
	add_custom_target(ym_bpf_${name} DEPENDS "${skel}")
endfunction()
