/// \file
/// What a shared libplangrad exports. The library is compiled with hidden visibility, so
/// only what a public header declares between PLANGRAD_PUBLIC_BEGIN and
/// PLANGRAD_PUBLIC_END leaves the shared object: the API of plangrad.hpp and the headers
/// it includes, and the data sets (datasets/circle.hpp, idx.hpp, csv.hpp). Kernels, the
/// JSON and flag parsers, file helpers and the third-party code inside stay local, and a
/// program cannot come to depend on them. In a program compiled with default
/// visibility the markers change nothing.
#pragma once

#if defined(__GNUC__) || defined(__clang__)
/// Opens a public header's exported declarations.
#define PLANGRAD_PUBLIC_BEGIN _Pragma("GCC visibility push(default)")
/// Closes what PLANGRAD_PUBLIC_BEGIN opened.
#define PLANGRAD_PUBLIC_END _Pragma("GCC visibility pop")
#else
#define PLANGRAD_PUBLIC_BEGIN
#define PLANGRAD_PUBLIC_END
#endif
