# Turns a text file into a C++ source defining `const char* <NAME>` with its contents.
file(READ ${INPUT} text)
set(delim "PILOT_EMBED_")
file(WRITE ${OUTPUT} "// Generated from ${INPUT}.\nextern const char* const ${NAME};\nconst char* const ${NAME} = R\"${delim}(${text})${delim}\";\n")
