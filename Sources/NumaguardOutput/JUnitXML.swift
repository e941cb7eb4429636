import NumaguardCore

/// The JUnit XML writer: `<testsuite>`s inside `<testsuites>` (one for an audit, one per host
/// for a fleet), the layout CI systems
/// (Jenkins' junit step, GitLab's `artifacts:reports:junit`) read. Attributes are those the
/// Jenkins xunit plugin's junit-10 schema allows (`skipped` only on `<testsuite>`). Both the
/// audit's report and the document of an audit that could not run are written here, so
/// they stay valid under the same schema. The output depends only on the values given.
public enum JUnitXML {
    /// The counts written on `<testsuites>` and `<testsuite>` (`skipped` on the suite only).
    public struct Counts: Sendable {
        public var tests: Int
        public var failures: Int
        public var errors: Int
        public var skipped: Int
        public init(tests: Int, failures: Int, errors: Int, skipped: Int) {
            self.tests = tests
            self.failures = failures
            self.errors = errors
            self.skipped = skipped
        }
    }

    /// What a testcase holds, in order; none makes it a plain pass.
    public enum Element: Sendable {
        /// `<failure message= type=>text</failure>`
        case failure(message: String, type: String, text: String)
        /// `<error message= type=>text</error>`
        case error(message: String, type: String, text: String)
        /// `<skipped message=/>`
        case skipped(message: String)
        /// `<system-out>text</system-out>`
        case systemOut(String)
    }

    public struct TestCase: Sendable {
        public var classname: String
        public var name: String
        public var elements: [Element]
        public init(classname: String, name: String, elements: [Element]) {
            self.classname = classname
            self.name = name
            self.elements = elements
        }
    }

    public struct Suite: Sendable {
        public var name: String
        public var counts: Counts
        /// RFC 3339 UTC: when the run happened.
        public var timestamp: String?
        public var hostname: String?
        /// `<properties>`, left out when empty.
        public var properties: [(String, String)]
        public var testcases: [TestCase]
        /// The suite's own `<system-out>` and `<system-err>`, left out when nil.
        public var systemOut: String?
        public var systemErr: String?

        public init(name: String, counts: Counts, timestamp: String?, hostname: String? = nil, properties: [(String, String)] = [],
                    testcases: [TestCase], systemOut: String? = nil, systemErr: String? = nil) {
            self.name = name
            self.counts = counts
            self.timestamp = timestamp
            self.hostname = hostname
            self.properties = properties
            self.testcases = testcases
            self.systemOut = systemOut
            self.systemErr = systemErr
        }
    }

    /// The document: `<testsuites name="...">` holding the one suite.
    public static func render(_ suite: Suite, name: String = "numaguard") -> String {
        render([suite], name: name)
    }

    /// The document holding several suites (`fleet report`: one per host), the totals on
    /// `<testsuites>` their sums (`skipped` stays on the suites: the schema allows it nowhere else).
    public static func render(_ suites: [Suite], name: String) -> String {
        var tests = 0, failures = 0, errors = 0
        for suite in suites {
            tests += suite.counts.tests
            failures += suite.counts.failures
            errors += suite.counts.errors
        }
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<testsuites name=\"\(XML.escape(name))\" tests=\"\(tests)\" failures=\"\(failures)\" errors=\"\(errors)\" time=\"0\">\n"
        for suite in suites { out += render(suite: suite) }
        out += "</testsuites>\n"
        return out
    }

    static func render(suite: Suite) -> String {
        let counts = suite.counts
        let totals = "tests=\"\(counts.tests)\" failures=\"\(counts.failures)\" errors=\"\(counts.errors)\""
        var open = "  <testsuite name=\"\(XML.escape(suite.name))\" \(totals) skipped=\"\(counts.skipped)\" time=\"0\""
        if let timestamp = suite.timestamp { open += " timestamp=\"\(XML.escape(timestamp))\"" }
        if let hostname = suite.hostname { open += " hostname=\"\(XML.escape(hostname))\"" }
        var out = open + ">\n"
        if !suite.properties.isEmpty {
            out += "    <properties>\n"
            for (name, value) in suite.properties {
                out += "      <property name=\"\(XML.escape(name))\" value=\"\(XML.escape(value))\"/>\n"
            }
            out += "    </properties>\n"
        }
        for testcase in suite.testcases { out += render(testcase) }
        if let systemOut = suite.systemOut { out += "    <system-out>\(XML.text(systemOut))</system-out>\n" }
        if let systemErr = suite.systemErr { out += "    <system-err>\(XML.text(systemErr))</system-err>\n" }
        return out + "  </testsuite>\n"
    }

    static func render(_ testcase: TestCase) -> String {
        let open = "    <testcase classname=\"\(XML.escape(testcase.classname))\" name=\"\(XML.escape(testcase.name))\" time=\"0\""
        guard !testcase.elements.isEmpty else { return open + "/>\n" }
        var out = open + ">\n"
        for element in testcase.elements {
            out += "      "
            switch element {
            case let .failure(message, type, text):
                out += "<failure message=\"\(XML.escape(message))\" type=\"\(XML.escape(type))\">\(XML.text(text))</failure>"
            case let .error(message, type, text):
                out += "<error message=\"\(XML.escape(message))\" type=\"\(XML.escape(type))\">\(XML.text(text))</error>"
            case let .skipped(message):
                out += "<skipped message=\"\(XML.escape(message))\"/>"
            case let .systemOut(text):
                out += "<system-out>\(XML.text(text))</system-out>"
            }
            out += "\n"
        }
        return out + "    </testcase>\n"
    }
}

/// XML 1.0 escaping for attribute values and character data.
public enum XML {
    /// Escapes the five markup characters; writes carriage return (and, in attributes, tab
    /// and newline) as character references so line-end handling and attribute-value
    /// normalization keep them; and, since XML 1.0 cannot carry the other C0 controls,
    /// U+FFFE or U+FFFF even as references, replaces those with a visible `\u{XX}`.
    public static func escape(_ text: String, attribute: Bool = true) -> String {
        Escaping.replacing(text) { scalar in
            switch scalar {
            case "&": "&amp;"
            case "<": "&lt;"
            case ">": "&gt;"
            case "\"": "&quot;"
            case "'": "&apos;"
            case "\r": "&#13;"
            case "\t": attribute ? "&#9;" : nil
            case "\n": attribute ? "&#10;" : nil
            case let c where c.value < 0x20 || c.value == 0xFFFE || c.value == 0xFFFF:
                "\\u{" + String(c.value, radix: 16, uppercase: true) + "}"
            default: nil
            }
        }
    }

    /// Character data: tab and newline written as they are.
    public static func text(_ text: String) -> String { escape(text, attribute: false) }
}
