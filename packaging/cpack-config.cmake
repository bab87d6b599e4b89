# Read by cpack at packaging time (CPACK_PROJECT_CONFIG_FILE).
# A package's paths are the build's: the daemons' built-in paths and the units assume /usr.
if(NOT CPACK_PACKAGING_INSTALL_PREFIX STREQUAL "/usr")
  message(FATAL_ERROR "duet: packages need a build configured with -DCMAKE_INSTALL_PREFIX=/usr "
                      "(this one has ${CPACK_PACKAGING_INSTALL_PREFIX})")
endif()
