/// Parses durations such as `90s`, `30m`, `12h`, `7d` or a plain number of seconds.
public enum DurationParser {
    public static func parse(_ text: String) -> Duration? {
        guard let last = text.last else { return nil }
        let multiplier: Int64
        var digits = Substring(text)
        switch last {
        case "s":
            multiplier = 1
            digits = digits.dropLast()
        case "m":
            multiplier = 60
            digits = digits.dropLast()
        case "h":
            multiplier = 3600
            digits = digits.dropLast()
        case "d":
            multiplier = 86400
            digits = digits.dropLast()
        default: multiplier = 1
        }
        guard let value = Int64(digits), value >= 0, value <= Int64.max / 86400 else { return nil }
        return .seconds(value * multiplier)
    }
}
