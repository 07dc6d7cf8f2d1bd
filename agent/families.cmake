# families.cmake: the telemetry family modules (agent/family.h), one static
# library so the agent and tests/sensors/families link the same code.
# agent/CMakeLists.txt includes this file after cmake/bpf.cmake; YM_FAMILY_OPS
# lists the ops symbols for the registration table (families.c), grouped by
# family in preference order: the eBPF mode first where the build has eBPF.
set(YM_FAMILY_SOURCES
	family_util.c family_sock.c fsjob.c kpath.c
	family_net_sockdiag.c
	family_dns_parse.c family_dns_track.c family_dns_tcp.c family_dns_packet.c
	family_file_watch.c family_file_fanotify.c
	family_auth_follow.c family_auth_authlog.c family_auth_journal.c family_auth_wtmp.c
	family_auditd_audit.c)
set(ym_fam_net family_net_sockdiag_ops)
set(ym_fam_dns family_dns_packet_ops)
set(ym_fam_file family_file_fanotify_ops)

if(YM_BPF)
	# bpf/<name>.bpf.c + bpf/<name>.h: skeletons generated into the build folder
	# (and sysx: the system call exit dispatcher the process sensor, network
	# and file modules share, sysx.c)
	set(ym_fam_bpf net dns file sysx)
	foreach(n IN LISTS ym_fam_bpf)
		ym_bpf_skeleton(${n})
	endforeach()
	list(APPEND YM_FAMILY_SOURCES family_bpf_util.c family_net_bpf.c family_dns_bpf.c
		family_file_bpf.c sysx.c)
	list(PREPEND ym_fam_net family_net_bpf_ops)
	list(PREPEND ym_fam_dns family_dns_bpf_ops)
	list(PREPEND ym_fam_file family_file_bpf_ops)
endif()

set(YM_FAMILY_OPS ${ym_fam_net} ${ym_fam_dns} ${ym_fam_file}
	family_auth_journal_ops family_auth_authlog_ops family_auth_wtmp_ops
	family_auditd_audit_ops)

list(TRANSFORM YM_FAMILY_SOURCES PREPEND ${CMAKE_CURRENT_LIST_DIR}/)
add_library(ymfamilies STATIC ${YM_FAMILY_SOURCES})
target_include_directories(ymfamilies PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(ymfamilies PUBLIC ymcore ymevent PkgConfig::SYSTEMD Threads::Threads)
if(YM_BPF)
	foreach(n IN LISTS ym_fam_bpf)
		add_dependencies(ymfamilies ym_bpf_${n})
	endforeach()
	target_include_directories(ymfamilies PRIVATE ${YM_BPF_INCLUDE} ${CMAKE_CURRENT_LIST_DIR}/bpf)
	target_compile_definitions(ymfamilies PUBLIC YM_FAMILY_BPF)
	target_link_libraries(ymfamilies PUBLIC PkgConfig::LIBBPF)
endif()
