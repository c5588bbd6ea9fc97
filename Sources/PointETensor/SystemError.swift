import Foundation

/// The text of a C library error code (the current `errno` by default): every "cannot open:
/// No such file or directory" message of the project is made here.
public func systemErrorText(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}
