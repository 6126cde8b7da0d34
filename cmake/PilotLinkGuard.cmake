# pilot_forbid_links(TARGET NAME FORBID REGEX... [EXCEPT_THROUGH TARGET...]): configuration fails
# when NAME reaches a library whose target name or path matches one of the FORBID regular
# expressions. The walk follows LINK_LIBRARIES and INTERFACE_LINK_LIBRARIES of every target it
# meets, $<LINK_ONLY:...> included (a static library's private dependencies are linked into
# whatever links it), aliases resolved, and does not go below an EXCEPT_THROUGH target (a use the
# caller allows, e.g. mjf's HTTP through pilot_core_net). The error names the whole chain:
#   pilot_platform -> pilot_core_net -> CURL::libcurl
# Call it after every target is defined (the end of the top-level CMakeLists.txt).
function(pilot_forbid_links)
  cmake_parse_arguments(G "" "TARGET" "FORBID;EXCEPT_THROUGH" ${ARGN})
  if(NOT TARGET ${G_TARGET})
    message(FATAL_ERROR "pilot_forbid_links: no target ${G_TARGET}")
  endif()
  set(queue ${G_TARGET})
  set(seen ${G_TARGET})
  set("chain_${G_TARGET}" ${G_TARGET})
  while(queue)
    list(POP_FRONT queue from)
    _pilot_direct_links(${from} entries)
    foreach(entry IN LISTS entries)
      if(entry MATCHES "^\\$<LINK_ONLY:(.*)>$")
        set(entry "${CMAKE_MATCH_1}")
      endif()
      # ::@(directory-id) marks the directory a target_link_libraries() call came from.
      if(entry STREQUAL "" OR entry MATCHES "^::@" OR entry IN_LIST G_EXCEPT_THROUGH)
        continue()
      endif()
      set(chain "${chain_${from}} -> ${entry}")
      foreach(pattern IN LISTS G_FORBID)
        if(entry MATCHES "${pattern}")
          message(FATAL_ERROR "${G_TARGET} must not link ${entry} (matches '${pattern}'): ${chain}")
        endif()
      endforeach()
      # Other generator expressions and plain paths or flags: checked above, nothing below them.
      if(entry IN_LIST seen OR entry MATCHES "\\$<" OR NOT TARGET ${entry})
        continue()
      endif()
      list(APPEND seen ${entry})
      list(APPEND queue ${entry})
      set("chain_${entry}" "${chain}")
    endforeach()
  endwhile()
endfunction()

# What target `name` links directly: its own and its interface's link libraries (an alias's are
# those of the target it names).
function(_pilot_direct_links name out)
  get_target_property(real ${name} ALIASED_TARGET)
  if(real)
    set(${out} ${real} PARENT_SCOPE)
    return()
  endif()
  set(entries)
  foreach(property LINK_LIBRARIES INTERFACE_LINK_LIBRARIES)
    get_target_property(values ${name} ${property})
    if(values)
      list(APPEND entries ${values})
    endif()
  endforeach()
  set(${out} ${entries} PARENT_SCOPE)
endfunction()
