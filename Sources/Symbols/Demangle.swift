// SPDX-License-Identifier: BSD-2-Clause
import CLibELF
import Foundation

/// Swift and C++ symbol names made readable; other names unchanged.
public enum Demangler {
    /// `$s4main8hotLeafAyyF` → `main.hotLeafA() -> ()`, `_ZN3foo3barEv` →
    /// `foo::bar()`. A name that does not demangle comes back as it was.
    public static func demangle(_ name: String) -> String {
        if isSwift(name) {
            return name.withCString { c in
                guard let out = swift_demangle(c, strlen(c), nil, nil, 0) else { return name }
                defer { free(out) }
                return String(cString: out)
            }
        }
        if name.hasPrefix("_Z"), let cxa = cxaDemangle {
            return name.withCString { c in
                var status: Int32 = 0
                guard let out = cxa(c, nil, nil, &status), status == 0 else { return name }
                defer { free(out) }
                return String(cString: out)
            }
        }
        return name
    }

    static func isSwift(_ name: String) -> Bool {
        ["$s", "_$s", "$S", "_$S", "_T0", "$e", "_$e"].contains { name.hasPrefix($0) }
    }

    typealias CxaDemangle = @convention(c) (UnsafePointer<CChar>?, UnsafeMutablePointer<CChar>?, UnsafeMutablePointer<Int>?,
                                            UnsafeMutablePointer<Int32>?) -> UnsafeMutablePointer<CChar>?
    /// libstdc++'s demangler, looked up at run time: the tools need not
    /// link the C++ library for it (the Swift runtime loads it on Linux).
    nonisolated(unsafe) static let cxaDemangle: CxaDemangle? = {
        let handle = dlopen(nil, RTLD_NOW)
        guard let symbol = dlsym(handle, "__cxa_demangle") ?? dlopen("libstdc++.so.6", RTLD_NOW | RTLD_NOLOAD).flatMap({ dlsym($0, "__cxa_demangle") }) else {
            return nil
        }
        return unsafeBitCast(symbol, to: CxaDemangle.self)
    }()
}
