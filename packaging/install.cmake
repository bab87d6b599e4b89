# Install layout (FHS) and the Debian package, included from the top-level CMakeLists.txt.
#
#   sbin/duet-resolver, sbin/duet-origin            (resolver/, origin/ CMakeLists)
#   /etc/duet/duet-resolver.conf, duet-origin.conf  conffiles; root-hints points at datadir
#   share/duet/root.hints, share/duet/index.html
#   share/duet/root.key                             the root's KSKs; seeds /var/lib/duet/root.key
#   libexec/duet/duet-setup                         users, dirs, self-signed cert, index.html
#   /lib/systemd/system/duet-{resolver,origin}.service
#   lib/sysusers.d/duet.conf, lib/tmpfiles.d/duet.conf
#   share/doc/duet/                                 README.md, example configs
#
# The prefix is /usr unless given (top-level CMakeLists.txt): the daemons' built-in paths
# (/etc/duet/..., DUET_DATADIR) and the units assume a system install. `cmake --install`
# onto a live system (no DESTDIR, as root) also runs duet-setup; a DESTDIR install or a
# package does not (every machine must generate its own key: the postinst runs it there).
#
# Package: cd build && cpack -G DEB   → duet_<version>-1_<arch>.deb

if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  pkg_get_variable(_unitdir systemd systemdsystemunitdir)
  pkg_get_variable(_sysusersdir systemd sysusersdir)
  pkg_get_variable(_tmpfilesdir systemd tmpfilesdir)
endif()
if(NOT _unitdir)
  set(_unitdir ${CMAKE_INSTALL_PREFIX}/lib/systemd/system)
endif()
if(NOT _sysusersdir)
  set(_sysusersdir ${CMAKE_INSTALL_PREFIX}/lib/sysusers.d)
endif()
if(NOT _tmpfilesdir)
  set(_tmpfilesdir ${CMAKE_INSTALL_PREFIX}/lib/tmpfiles.d)
endif()
set(DUET_SYSTEMD_UNITDIR ${_unitdir} CACHE PATH "where the systemd units are installed")
set(DUET_SYSUSERSDIR ${_sysusersdir} CACHE PATH "where the sysusers.d snippet is installed")
set(DUET_TMPFILESDIR ${_tmpfilesdir} CACHE PATH "where the tmpfiles.d snippet is installed")
option(DUET_INSTALL_SETUP "cmake --install onto / (no DESTDIR) as root runs duet-setup" ON)

set(DUET_CONFDIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/duet)
set(DUET_PKG_DIR ${PROJECT_BINARY_DIR}/packaging)

# Copies IN to OUT with the system paths the sources name (/usr/sbin, /etc/duet, ...)
# replaced by this build's, rewriting OUT only when its content changes. A FROM that is a
# path must occur in IN: a source edit that drops one fails the configure instead of
# shipping a wrong path (@PLACEHOLDER@s may be absent).
function(duet_install_file in out mode)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${in})
  file(READ ${in} body)
  set(pairs ${ARGN})
  list(LENGTH pairs n)
  set(i 0)
  while(i LESS n)
    list(GET pairs ${i} from)
    math(EXPR j "${i} + 1")
    list(GET pairs ${j} to)
    string(FIND "${body}" "${from}" at)
    if(at EQUAL -1 AND NOT from MATCHES "^@")
      message(FATAL_ERROR "duet: '${from}' not found in ${in}")
    endif()
    string(REPLACE "${from}" "${to}" body "${body}")
    math(EXPR i "${i} + 2")
  endwhile()
  set(old "")
  if(EXISTS ${out})
    file(READ ${out} old)
  endif()
  if(NOT old STREQUAL body)
    file(WRITE ${out} "${body}")
  endif()
  if(mode STREQUAL "PROGRAM")
    file(CHMOD ${out} PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
         GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
  endif()
endfunction()

set(_paths_unit
  "/usr/sbin/" "${CMAKE_INSTALL_FULL_SBINDIR}/"
  "/etc/duet/" "${DUET_CONFDIR}/"
  "/usr/share/doc/duet/" "${CMAKE_INSTALL_FULL_DOCDIR}/")
set(_paths_script
  "@SYSCONFDIR@" "${CMAKE_INSTALL_FULL_SYSCONFDIR}"
  "@DATADIR@" "${CMAKE_INSTALL_FULL_DATADIR}"
  "@LIBEXECDIR@" "${CMAKE_INSTALL_FULL_LIBEXECDIR}"
  "@SYSUSERSDIR@" "${DUET_SYSUSERSDIR}"
  "@TMPFILESDIR@" "${DUET_TMPFILESDIR}")

# Configs. The resolver's root hints are the shipped ones, where this install puts them.
duet_install_file(${PROJECT_SOURCE_DIR}/conf/duet-resolver.conf ${DUET_PKG_DIR}/duet-resolver.conf
  FILE "root-hints = /usr/share/duet/root.hints"
       "root-hints = ${CMAKE_INSTALL_FULL_DATADIR}/duet/root.hints")
duet_install_file(${PROJECT_SOURCE_DIR}/conf/duet-origin.conf ${DUET_PKG_DIR}/duet-origin.conf
  FILE "cert = /etc/duet/" "cert = ${DUET_CONFDIR}/"
       "key = /etc/duet/" "key = ${DUET_CONFDIR}/")
install(FILES ${DUET_PKG_DIR}/duet-resolver.conf ${DUET_PKG_DIR}/duet-origin.conf
        DESTINATION ${DUET_CONFDIR} PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

install(FILES ${PROJECT_SOURCE_DIR}/conf/root.hints ${PROJECT_SOURCE_DIR}/conf/root.key
              ${PROJECT_SOURCE_DIR}/packaging/index.html DESTINATION ${CMAKE_INSTALL_DATADIR}/duet)

install(FILES ${PROJECT_SOURCE_DIR}/systemd/duet-resolver.socket
              ${PROJECT_SOURCE_DIR}/systemd/duet-origin.socket DESTINATION ${DUET_SYSTEMD_UNITDIR})
foreach(u duet-resolver.service duet-origin.service)
  duet_install_file(${PROJECT_SOURCE_DIR}/systemd/${u} ${DUET_PKG_DIR}/${u} FILE ${_paths_unit})
  install(FILES ${DUET_PKG_DIR}/${u} DESTINATION ${DUET_SYSTEMD_UNITDIR})
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/systemd/duet.sysusers DESTINATION ${DUET_SYSUSERSDIR}
        RENAME duet.conf)
duet_install_file(${PROJECT_SOURCE_DIR}/systemd/duet.tmpfiles ${DUET_PKG_DIR}/duet.tmpfiles FILE
  "d     /etc/duet " "d     ${DUET_CONFDIR} "
  " /usr/share/duet/root.key" " ${CMAKE_INSTALL_FULL_DATADIR}/duet/root.key")
install(FILES ${DUET_PKG_DIR}/duet.tmpfiles DESTINATION ${DUET_TMPFILESDIR} RENAME duet.conf)

duet_install_file(${PROJECT_SOURCE_DIR}/packaging/duet-setup.in ${DUET_PKG_DIR}/duet-setup PROGRAM
  ${_paths_script})
install(PROGRAMS ${DUET_PKG_DIR}/duet-setup DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/duet)

install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/conf/duet-resolver.conf ${PROJECT_SOURCE_DIR}/conf/duet-origin.conf
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

if(DUET_INSTALL_SETUP)
  install(CODE "
    execute_process(COMMAND id -u OUTPUT_VARIABLE _uid OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(\"\$ENV{DESTDIR}\" STREQUAL \"\" AND CMAKE_INSTALL_PREFIX STREQUAL \"${CMAKE_INSTALL_PREFIX}\"
       AND _uid STREQUAL \"0\")
      execute_process(COMMAND ${CMAKE_INSTALL_FULL_LIBEXECDIR}/duet/duet-setup RESULT_VARIABLE _rc)
      if(NOT _rc EQUAL 0)
        message(FATAL_ERROR \"duet-setup failed (\${_rc})\")
      endif()
    else()
      message(STATUS \"duet: not a live install as root: run ${CMAKE_INSTALL_FULL_LIBEXECDIR}/duet/duet-setup on the target (users, certificate, index.html)\")
    endif()")
endif()

# --- Debian package -----------------------------------------------------------------------
foreach(s postinst prerm postrm)
  duet_install_file(${PROJECT_SOURCE_DIR}/packaging/debian/${s}.in ${DUET_PKG_DIR}/debian/${s}
    PROGRAM "@LIBEXECDIR@" "${CMAKE_INSTALL_FULL_LIBEXECDIR}"
            "@SYSCONFDIR@" "${CMAKE_INSTALL_FULL_SYSCONFDIR}")
endforeach()
file(CONFIGURE OUTPUT ${DUET_PKG_DIR}/debian/conffiles
  CONTENT "${DUET_CONFDIR}/duet-resolver.conf\n${DUET_CONFDIR}/duet-origin.conf\n")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME duet)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "duet maintainers <duet@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "caching iterative DNS resolver and TLS HTTP/1.1 origin")
# The summary is the first line of the control file's Description; this is the rest.
set(CPACK_PACKAGE_DESCRIPTION "duet is the server side of what happens when you type a URL, as
two daemons on libuv: duet-resolver, a caching iterative DNS resolver on 127.0.0.1:53, and
duet-origin, a TLS-terminating HTTP/1.1 origin for static sites on ports 443 and 80. Both
run as hardened systemd services (Type=notify, watchdog) under their own system users.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# libc6, libuv1, libssl3, libldns3 from dpkg-shlibdeps (Debian package dpkg-dev); openssl
# makes the default certificate in the postinst; deb-systemd-helper is init-system-helpers'.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "openssl, init-system-helpers, systemd | adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${DUET_PKG_DIR}/debian/conffiles ${DUET_PKG_DIR}/debian/postinst
  ${DUET_PKG_DIR}/debian/prerm ${DUET_PKG_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
# Absolute destinations (/etc/duet, /lib/systemd/system) must land in the staging tree.
set(CPACK_SET_DESTDIR ON)
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_PROJECT_CONFIG_FILE ${PROJECT_SOURCE_DIR}/packaging/cpack-config.cmake)
set(CPACK_SOURCE_GENERATOR "")
include(CPack)
