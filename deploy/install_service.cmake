# Install-time part of deploy/CMakeLists.txt: the systemd unit, with the paths of the prefix in
# use, and the example config and secrets file. Runs inside cmake_install.cmake, where
# CMAKE_INSTALL_PREFIX is the prefix given to `cmake --install` (or CPack's); file(INSTALL)
# prepends DESTDIR, CPack's staging root, by itself.
set(prefix "${CMAKE_INSTALL_PREFIX}")
if(prefix STREQUAL "/usr")
  set(NUDGE_CONFIG_DIR "/etc/nudge")
else()
  set(NUDGE_CONFIG_DIR "${prefix}/etc/nudge")
endif()
set(NUDGE_BIN_DIR "${prefix}/${NUDGE_INSTALL_BINDIR}")
set(NUDGE_DOC_DIR "${prefix}/${NUDGE_INSTALL_DOCDIR}")
foreach(unit nudged nudge-cdc)
  configure_file("${NUDGE_DEPLOY_SOURCE_DIR}/systemd/${unit}.service.in"
                 "${NUDGE_DEPLOY_BINARY_DIR}/${unit}.service" @ONLY)
endforeach()

file(INSTALL DESTINATION "${prefix}/${NUDGE_INSTALL_UNITDIR}" TYPE FILE
     FILES "${NUDGE_DEPLOY_BINARY_DIR}/nudged.service" "${NUDGE_DEPLOY_BINARY_DIR}/nudge-cdc.service")
file(INSTALL DESTINATION "${NUDGE_CONFIG_DIR}" TYPE FILE
     FILES "${NUDGE_DEPLOY_SOURCE_DIR}/nudged.toml" "${NUDGE_DEPLOY_SOURCE_DIR}/cdc.toml"
           "${NUDGE_DEPLOY_SOURCE_DIR}/cdc-rules.toml")
# Secrets: readable by root only (systemd reads them for the services).
file(INSTALL DESTINATION "${NUDGE_CONFIG_DIR}" TYPE FILE
     PERMISSIONS OWNER_READ OWNER_WRITE
     FILES "${NUDGE_DEPLOY_SOURCE_DIR}/nudged.env" "${NUDGE_DEPLOY_SOURCE_DIR}/cdc.env")
