/// Every threshold and switch a run uses. Defaults are the contract's; a config
/// file overrides them globally, per account, per symbol and per asset.
public struct Thresholds: Sendable, Equatable {
    /// A snapshot valid at S is compared with local events with `ts_ms` ≤ S + this.
    public var clockSkewMs: Int64 = 1_000
    /// Position quantity bands: below `ignore` nothing, below `critical` a warning.
    public var positionQtyIgnore: ExactDecimal = "0.001"
    public var positionQtyCritical: ExactDecimal = "0.01"
    /// Entry prices further apart than this percent are a `position_cost_mismatch`.
    public var positionCostTolerancePct: ExactDecimal = "0.01"
    /// Balance difference (in the asset's own units) tolerated.
    public var cashTolerance: ExactDecimal = "1.00"
    /// Equity difference tolerated, in percent of the venue's equity.
    public var equityTolerancePct: ExactDecimal = "0.1"
    /// A fill's fee may differ by this much (in its fee asset) before it is reported.
    public var feeTolerance: ExactDecimal = "0.00000001"
    /// Fill times further apart than this are a `fill_time_mismatch` (≥ 1000).
    public var fillTimeToleranceMs: Int64 = 1_000
    public var makerRatioMin: ExactDecimal = "0.80"
    public var netBpsMax: ExactDecimal = "0.5"
    /// Net bps below this is reported (info) as earning rebates.
    public var netBpsRebate: ExactDecimal = "-0.5"
    public var feesBpsMax: ExactDecimal = "3.0"
    /// More local-only orders than this make each of them critical.
    public var orderMissingRemoteCriticalCount = 10
    /// A warning seen in this many consecutive runs escalates to critical (0: never).
    public var escalateAfterRuns = 3
    /// Remote data older than this (from the newest local event) is stale.
    public var maxRemoteAgeMs: Int64 = 300_000
    public var pnlTolerance: ExactDecimal = "1.00"
    public var positionMatchTimeMs: Int64 = 5_000
    public var positionMatchPricePct: ExactDecimal = "0.1"
    public var inventoryWarn: ExactDecimal = "0.10"
    public var inventoryCritical: ExactDecimal = "0.25"
    /// Inventory target (base value / equity); inventory checks need it.
    public var targetBasePct: ExactDecimal?
    /// Alert when more than this many quote units are at stake in one run.
    public var impactAlertQuote: ExactDecimal?
    /// The asset money impact and equity are measured in.
    public var quoteAsset = "USDT"
    public var checks = Checks()
    /// Corrections: opt-in automatic application within limits.
    public var autoCorrect = false
    public var maxAutoCorrectionSize: ExactDecimal = "0"
    public var maxAutoCorrectionAmount: ExactDecimal = "0"

    public init() {}
}

/// Per-check switches. A switched-off check says so in the report.
public struct Checks: Sendable, Equatable {
    public var orders = true
    public var positions = true
    public var balances = true
    public var fills = true
    public var fees = true
    public var closedPositions = true
    public var inventory = true
    public var accounting = true

    public static let names = ["orders", "positions", "balances", "fills", "fees", "closed_positions", "inventory", "accounting"]

    public func isOn(_ name: String) -> Bool {
        switch name {
        case "orders": return orders
        case "positions": return positions
        case "balances": return balances
        case "fills": return fills
        case "fees": return fees
        case "closed_positions": return closedPositions
        case "inventory": return inventory
        default: return accounting
        }
    }

    mutating func set(_ name: String, _ on: Bool) {
        switch name {
        case "orders": orders = on
        case "positions": positions = on
        case "balances": balances = on
        case "fills": fills = on
        case "fees": fees = on
        case "closed_positions": closedPositions = on
        case "inventory": inventory = on
        default: accounting = on
        }
    }
}

/// A fee schedule choice: a named tier or explicit rates.
public enum FeeChoice: Sendable, Equatable {
    case tier(String)
    case rates(FeeRates)
}

/// Alert routing (used by the service).
public struct AlertConfig: Sendable, Equatable {
    public var webhookURL: String?
    public var minSeverity: Severity = .warning
    public var redisURL: String?
    public var resultChannel = "reconciliation:result"
    public var discrepancyChannel = "reconciliation:discrepancy"

    public init() {}
}

/// Service settings (used by `recon serve`).
public struct ServiceConfig: Sendable, Equatable {
    public var postFillDelayMs: Int64 = 5_000
    public var intervalS: Int64 = 60
    public var token: String?
    public var bodyLimitBytes = 16 << 20
    public var reportDir: String?

    public init() {}
}

/// A parsed configuration file. Construct with ``ReconConfig/parse(_:)``.
public struct ReconConfig: Sendable, Equatable {
    /// Validated overrides, kept as JSON so they layer in order.
    typealias Overrides = [(key: String, value: JSONValue)]

    var defaults: Overrides = []
    var symbolOverrides: [String: Overrides] = [:]
    var assetOverrides: [String: Overrides] = [:]
    var accountOverrides: [String: Overrides] = [:]
    var accountSymbolOverrides: [String: [String: Overrides]] = [:]
    var accountAssetOverrides: [String: [String: Overrides]] = [:]
    /// The global schedule; nil when the config names none (schedule checks then
    /// do not run: Recon never invents a schedule to compare against).
    var fees: FeeChoice?
    var feeProfiles: [String: FeeChoice] = [:]
    var accountFees: [String: FeeChoice] = [:]
    var accountFeeProfiles: [String: [String: FeeChoice]] = [:]
    var customTiers: [String: FeeRates] = [:]
    public var alerts = AlertConfig()
    public var service = ServiceConfig()
    /// `sha256:` of the canonical form: what every report names.
    public private(set) var hash: String = ""
    /// The canonical JSON the hash is taken of.
    public private(set) var canonicalJSON: String = ""

    public static func == (a: ReconConfig, b: ReconConfig) -> Bool { a.hash == b.hash }

    /// The defaults alone.
    public static let standard: ReconConfig = try! parse("{}")

    /// The defaults layer and each account's layer, computed once at parse:
    /// `thresholds(account:symbol:asset:)` sits on every hot path of a run.
    private var defaultThresholds = Thresholds()
    private var accountThresholds: [String: Thresholds] = [:]

    /// Thresholds for an account (and symbol / asset when given), layered:
    /// defaults, global symbol or asset, account, account symbol or asset.
    public func thresholds(account: String, symbol: String? = nil, asset: String? = nil) -> Thresholds {
        let symbolLayer = symbol.flatMap { symbolOverrides[$0] }
        let assetLayer = asset.flatMap { assetOverrides[$0] }
        let accountSymbolLayer = symbol.flatMap { accountSymbolOverrides[account]?[$0] }
        let accountAssetLayer = asset.flatMap { accountAssetOverrides[account]?[$0] }
        if symbolLayer == nil && assetLayer == nil && accountSymbolLayer == nil && accountAssetLayer == nil {
            return accountThresholds[account] ?? defaultThresholds
        }
        return layered(account: account, symbol: symbol, asset: asset)
    }

    private func layered(account: String, symbol: String?, asset: String?) -> Thresholds {
        var t = Thresholds()
        apply(defaults, to: &t)
        if let symbol, let o = symbolOverrides[symbol] { apply(o, to: &t) }
        if let asset, let o = assetOverrides[asset] { apply(o, to: &t) }
        if let o = accountOverrides[account] { apply(o, to: &t) }
        if let symbol, let o = accountSymbolOverrides[account]?[symbol] { apply(o, to: &t) }
        if let asset, let o = accountAssetOverrides[account]?[asset] { apply(o, to: &t) }
        return t
    }

    private func apply(_ overrides: Overrides, to t: inout Thresholds) {
        for (key, value) in overrides {
            // Validated at parse time, so this cannot fail here.
            try? Self.set(key, value, on: &t, path: key)
        }
    }

    /// The fee rates that apply to a symbol: exact profile, then `*`, then the
    /// schedule (the account's first, then the global one); nil when none is set.
    /// Whether some threshold differs by symbol for this account (else the account's thresholds hold for every symbol).
    public func hasSymbolOverrides(account: String) -> Bool {
        !symbolOverrides.isEmpty || !(accountSymbolOverrides[account]?.isEmpty ?? true)
    }

    /// Whether any fee schedule could apply to the account (else schedule checks have nothing to compare).
    public func hasFeeSchedule(account: String) -> Bool {
        fees != nil || !feeProfiles.isEmpty || accountFees[account] != nil || !(accountFeeProfiles[account]?.isEmpty ?? true)
    }

    public func feeRates(account: String, symbol: String) -> FeeRates? {
        let choice = accountFeeProfiles[account]?[symbol] ?? feeProfiles[symbol]
            ?? accountFeeProfiles[account]?["*"] ?? feeProfiles["*"]
            ?? accountFees[account] ?? fees
        return choice.map(rates)
    }

    /// Where `feeRates` found its answer, for reports.
    public func feeRateSource(account: String, symbol: String) -> String {
        if accountFeeProfiles[account]?[symbol] != nil || feeProfiles[symbol] != nil { return "profile:\(symbol)" }
        if accountFeeProfiles[account]?["*"] != nil || feeProfiles["*"] != nil { return "profile:*" }
        return accountFees[account] != nil ? "account schedule" : "global schedule"
    }

    func rates(_ choice: FeeChoice) -> FeeRates {
        switch choice {
        case .rates(let r): return r
        case .tier(let name): return customTiers[name] ?? FeeRates.tiers[name] ?? .vip0
        }
    }
}

/// A configuration error naming the key.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { path.isEmpty ? "config: \(reason)" : "config: \(path): \(reason)" }
}

extension ReconConfig {
    static let thresholdKeys: [String] = [
        "clock_skew_ms", "position_qty_ignore", "position_qty_critical", "position_cost_tolerance_pct", "cash_tolerance",
        "equity_tolerance_pct", "fee_tolerance", "fill_time_tolerance_ms", "maker_ratio_min", "net_bps_max", "net_bps_rebate",
        "fees_bps_max", "order_missing_remote_critical_count", "escalate_after_runs", "max_remote_age_ms", "pnl_tolerance",
        "position_match_time_ms", "position_match_price_pct", "inventory_warn", "inventory_critical", "target_base_pct",
        "impact_alert_quote", "quote_asset", "checks", "auto_correct", "max_auto_correction_size", "max_auto_correction_amount",
    ]

    /// Parses and validates a configuration; every unknown key or bad value is an
    /// error naming its path (`accounts.bot1.cash_tolerance`).
    public static func parse(_ text: String) throws(ConfigError) -> ReconConfig {
        let root: JSONValue
        do {
            root = try JSONReader.parse(text)
        } catch {
            throw ConfigError(path: "", reason: error.description)
        }
        guard case .object(let object) = root else { throw ConfigError(path: "", reason: "expected a JSON object") }
        var config = ReconConfig()
        for (key, value) in object.entries {
            switch key {
            case "defaults":
                var overrides: Overrides = []
                var fees: FeeChoice? = config.fees
                var profiles: [String: FeeChoice] = [:]
                try config.parseLevel(value, path: "defaults", overrides: &overrides, fees: &fees, profiles: &profiles)
                config.defaults = overrides
                config.fees = fees
                config.feeProfiles = profiles
            case "symbols":
                config.symbolOverrides = try parseMap(value, path: "symbols") { v, p throws(ConfigError) in try parseSymbolThresholds(v, path: p) }
            case "assets":
                config.assetOverrides = try parseMap(value, path: "assets") { v, p throws(ConfigError) in try parseThresholdObject(v, path: p) }
            case "accounts":
                guard case .object(let accounts) = value else { throw ConfigError(path: "accounts", reason: "expected an object of accounts") }
                for (account, body) in accounts.entries {
                    let path = "accounts.\(account)"
                    var overrides: Overrides = []
                    var fees: FeeChoice?
                    var profiles: [String: FeeChoice] = [:]
                    guard case .object(let fields) = body else { throw ConfigError(path: path, reason: "expected an object") }
                    var thresholdPart = JSONObject()
                    for (k, v) in fields.entries {
                        switch k {
                        case "symbols":
                            config.accountSymbolOverrides[account] = try parseMap(v, path: "\(path).symbols") { v, p throws(ConfigError) in try parseSymbolThresholds(v, path: p) }
                        case "assets":
                            config.accountAssetOverrides[account] = try parseMap(v, path: "\(path).assets") { v, p throws(ConfigError) in try parseThresholdObject(v, path: p) }
                        case "fees":
                            fees = try config.parseFeeChoice(v, path: "\(path).fees")
                        case "fee_profiles":
                            profiles = try config.parseProfiles(v, path: "\(path).fee_profiles")
                        default:
                            thresholdPart.entries.append((k, v))
                        }
                    }
                    overrides = try parseThresholdObject(.object(thresholdPart), path: path)
                    config.accountOverrides[account] = overrides
                    if let fees { config.accountFees[account] = fees }
                    if !profiles.isEmpty { config.accountFeeProfiles[account] = profiles }
                }
            case "fee_tiers":
                config.customTiers = try parseMap(value, path: "fee_tiers") { v, p throws(ConfigError) in try parseRates(v, path: p) }
            case "alerts":
                config.alerts = try parseAlerts(value)
            case "service":
                config.service = try parseService(value)
            default:
                throw ConfigError(path: key, reason: "unknown key (known: defaults, symbols, assets, accounts, fee_tiers, alerts, service)")
            }
        }
        // Tier names must exist once custom tiers are known.
        for (path, choice) in config.allFeeChoices() {
            if case .tier(let name) = choice, config.customTiers[name] == nil, FeeRates.tiers[name] == nil {
                let known = (Array(FeeRates.tiers.keys) + Array(config.customTiers.keys)).sorted().joined(separator: ", ")
                throw ConfigError(path: path, reason: "unknown fee tier \"\(name)\" (known: \(known))")
            }
        }
        config.defaultThresholds = config.layered(account: "", symbol: nil, asset: nil)
        for account in config.accountOverrides.keys {
            config.accountThresholds[account] = config.layered(account: account, symbol: nil, asset: nil)
        }
        config.canonicalJSON = config.canonical()
        config.hash = "sha256:" + SHA256.hex(config.canonicalJSON)
        return config
    }

    private func allFeeChoices() -> [(String, FeeChoice)] {
        var all: [(String, FeeChoice)] = fees.map { [("defaults.fees", $0)] } ?? []
        for (s, c) in feeProfiles { all.append(("defaults.fee_profiles.\(s)", c)) }
        for (a, c) in accountFees { all.append(("accounts.\(a).fees", c)) }
        for (a, m) in accountFeeProfiles { for (s, c) in m { all.append(("accounts.\(a).fee_profiles.\(s)", c)) } }
        return all
    }

    private func parseLevel(_ value: JSONValue, path: String, overrides: inout Overrides, fees: inout FeeChoice?,
                            profiles: inout [String: FeeChoice]) throws(ConfigError) {
        guard case .object(let object) = value else { throw ConfigError(path: path, reason: "expected an object") }
        var thresholdPart = JSONObject()
        for (k, v) in object.entries {
            switch k {
            case "fees": fees = try parseFeeChoice(v, path: "\(path).fees")
            case "fee_profiles": profiles = try parseProfiles(v, path: "\(path).fee_profiles")
            default: thresholdPart.entries.append((k, v))
            }
        }
        overrides = try Self.parseThresholdObject(.object(thresholdPart), path: path)
    }

    /// Per-symbol thresholds. Not `clock_skew_ms`: time alignment builds one view
    /// of the account's local events per point, so the skew is per account.
    static func parseSymbolThresholds(_ value: JSONValue, path: String) throws(ConfigError) -> Overrides {
        if case .object(let object) = value, object["clock_skew_ms"] != nil {
            throw ConfigError(path: "\(path).clock_skew_ms", reason: "clock_skew_ms is set per account (or in defaults), not per symbol: time alignment views the whole account at once")
        }
        return try parseThresholdObject(value, path: path)
    }

    private func parseFeeChoice(_ value: JSONValue, path: String) throws(ConfigError) -> FeeChoice {
        switch value {
        case .string(let name):
            return .tier(name)
        case .object(let object):
            if let tier = object["tier"] {
                guard object.entries.count == 1 else {
                    throw ConfigError(path: path, reason: "give a tier or rates (maker_bps, taker_bps, maker_rebate_bps), not both")
                }
                guard case .string(let name) = tier else { throw ConfigError(path: "\(path).tier", reason: "expected a tier name") }
                return .tier(name)
            }
            return .rates(try Self.parseRates(value, path: path))
        default:
            throw ConfigError(path: path, reason: "expected a tier name or {\"tier\": …} or {\"maker_bps\", \"taker_bps\", \"maker_rebate_bps\"}")
        }
    }

    private func parseProfiles(_ value: JSONValue, path: String) throws(ConfigError) -> [String: FeeChoice] {
        try Self.parseMap(value, path: path) { v, p throws(ConfigError) in try parseFeeChoice(v, path: p) }
    }

    static func parseRates(_ value: JSONValue, path: String) throws(ConfigError) -> FeeRates {
        guard case .object(let object) = value else { throw ConfigError(path: path, reason: "expected an object of rates") }
        var rates = FeeRates(makerBps: 0, takerBps: 0, makerRebateBps: 0)
        var seen = Set<String>()
        for (k, v) in object.entries {
            let d = try decimal(v, path: "\(path).\(k)")
            switch k {
            case "maker_bps": rates.makerBps = d
            case "taker_bps": rates.takerBps = d
            case "maker_rebate_bps": rates.makerRebateBps = d
            default: throw ConfigError(path: "\(path).\(k)", reason: "unknown key (known: maker_bps, taker_bps, maker_rebate_bps)")
            }
            seen.insert(k)
        }
        for needed in ["maker_bps", "taker_bps"] where !seen.contains(needed) {
            throw ConfigError(path: "\(path).\(needed)", reason: "is required")
        }
        return rates
    }

    static func parseMap<T>(_ value: JSONValue, path: String, _ item: (JSONValue, String) throws(ConfigError) -> T) throws(ConfigError) -> [String: T] {
        guard case .object(let object) = value else { throw ConfigError(path: path, reason: "expected an object") }
        var result: [String: T] = [:]
        for (k, v) in object.entries { result[k] = try item(v, "\(path).\(k)") }
        return result
    }

    static func parseThresholdObject(_ value: JSONValue, path: String) throws(ConfigError) -> Overrides {
        guard case .object(let object) = value else { throw ConfigError(path: path, reason: "expected an object of thresholds") }
        var probe = Thresholds()
        for (k, v) in object.entries {
            let keyPath = path.isEmpty ? k : "\(path).\(k)"
            guard thresholdKeys.contains(k) else {
                throw ConfigError(path: keyPath, reason: "unknown key\(suggestion(for: k))")
            }
            try set(k, v, on: &probe, path: keyPath)
        }
        if probe.positionQtyIgnore > probe.positionQtyCritical {
            throw ConfigError(path: path, reason: "position_qty_ignore must not exceed position_qty_critical")
        }
        if probe.inventoryWarn > probe.inventoryCritical {
            throw ConfigError(path: path, reason: "inventory_warn must not exceed inventory_critical")
        }
        return object.entries
    }

    static func suggestion(for key: String) -> String {
        let close = thresholdKeys.filter { candidate in
            candidate.hasPrefix(String(key.prefix(5))) || key.hasPrefix(String(candidate.prefix(5)))
        }
        return close.isEmpty ? "" : " (did you mean \(close.prefix(3).joined(separator: ", "))?)"
    }

    static func decimal(_ value: JSONValue, path: String) throws(ConfigError) -> ExactDecimal {
        let text: String
        let allowExponent: Bool
        switch value {
        case .string(let s): text = s; allowExponent = false
        case .number(let n): text = n; allowExponent = true
        default: throw ConfigError(path: path, reason: "expected a decimal, got \(value.summary)")
        }
        var copy = text
        let parsed = copy.withUTF8 { bytes in Result { () throws(ExactDecimal.ParseError) in try ExactDecimal.parse(bytes, allowExponent: allowExponent) } }
        switch parsed {
        case .success(let d): return d
        case .failure(let e): throw ConfigError(path: path, reason: "\(e) (got \"\(text)\")")
        }
    }

    static func integer(_ value: JSONValue, path: String, min: Int64 = 0) throws(ConfigError) -> Int64 {
        guard case .number(let text) = value, let n = Int64(text) else { throw ConfigError(path: path, reason: "expected an integer, got \(value.summary)") }
        guard n >= min else { throw ConfigError(path: path, reason: "must be at least \(min), got \(n)") }
        return n
    }

    static func bool(_ value: JSONValue, path: String) throws(ConfigError) -> Bool {
        guard case .bool(let b) = value else { throw ConfigError(path: path, reason: "expected true or false, got \(value.summary)") }
        return b
    }

    static func nonNegative(_ value: JSONValue, path: String) throws(ConfigError) -> ExactDecimal {
        let d = try decimal(value, path: path)
        if d.isNegative { throw ConfigError(path: path, reason: "must not be negative, got \(d)") }
        return d
    }

    static func set(_ key: String, _ v: JSONValue, on t: inout Thresholds, path: String) throws(ConfigError) {
        switch key {
        case "clock_skew_ms": t.clockSkewMs = try integer(v, path: path)
        case "position_qty_ignore": t.positionQtyIgnore = try nonNegative(v, path: path)
        case "position_qty_critical": t.positionQtyCritical = try nonNegative(v, path: path)
        case "position_cost_tolerance_pct": t.positionCostTolerancePct = try nonNegative(v, path: path)
        case "cash_tolerance": t.cashTolerance = try nonNegative(v, path: path)
        case "equity_tolerance_pct": t.equityTolerancePct = try nonNegative(v, path: path)
        case "fee_tolerance": t.feeTolerance = try nonNegative(v, path: path)
        case "fill_time_tolerance_ms": t.fillTimeToleranceMs = try integer(v, path: path, min: AccountProjection.fillTimeFloorMs)
        case "maker_ratio_min": t.makerRatioMin = try nonNegative(v, path: path)
        case "net_bps_max": t.netBpsMax = try decimal(v, path: path)
        case "net_bps_rebate": t.netBpsRebate = try decimal(v, path: path)
        case "fees_bps_max": t.feesBpsMax = try nonNegative(v, path: path)
        case "order_missing_remote_critical_count": t.orderMissingRemoteCriticalCount = Int(try integer(v, path: path))
        case "escalate_after_runs": t.escalateAfterRuns = Int(try integer(v, path: path))
        case "max_remote_age_ms": t.maxRemoteAgeMs = try integer(v, path: path, min: 1)
        case "pnl_tolerance": t.pnlTolerance = try nonNegative(v, path: path)
        case "position_match_time_ms": t.positionMatchTimeMs = try integer(v, path: path)
        case "position_match_price_pct": t.positionMatchPricePct = try nonNegative(v, path: path)
        case "inventory_warn": t.inventoryWarn = try nonNegative(v, path: path)
        case "inventory_critical": t.inventoryCritical = try nonNegative(v, path: path)
        case "target_base_pct":
            let d = try nonNegative(v, path: path)
            if d > 1 { throw ConfigError(path: path, reason: "must be between 0 and 1, got \(d)") }
            t.targetBasePct = d
        case "impact_alert_quote": t.impactAlertQuote = try nonNegative(v, path: path)
        case "quote_asset":
            guard case .string(let s) = v, !s.isEmpty else { throw ConfigError(path: path, reason: "expected an asset name") }
            t.quoteAsset = s
        case "checks":
            guard case .object(let checks) = v else { throw ConfigError(path: path, reason: "expected an object of check switches") }
            for (name, on) in checks.entries {
                guard Checks.names.contains(name) else {
                    throw ConfigError(path: "\(path).\(name)", reason: "unknown check (known: \(Checks.names.joined(separator: ", ")))")
                }
                t.checks.set(name, try bool(on, path: "\(path).\(name)"))
            }
        case "auto_correct": t.autoCorrect = try bool(v, path: path)
        case "max_auto_correction_size": t.maxAutoCorrectionSize = try nonNegative(v, path: path)
        case "max_auto_correction_amount": t.maxAutoCorrectionAmount = try nonNegative(v, path: path)
        default: throw ConfigError(path: path, reason: "unknown key")
        }
    }

    static func parseAlerts(_ value: JSONValue) throws(ConfigError) -> AlertConfig {
        guard case .object(let object) = value else { throw ConfigError(path: "alerts", reason: "expected an object") }
        var alerts = AlertConfig()
        for (k, v) in object.entries {
            let path = "alerts.\(k)"
            switch k {
            case "webhook_url": alerts.webhookURL = try string(v, path: path)
            case "min_severity":
                guard case .string(let s) = v, let severity = Severity(rawValue: s) else {
                    throw ConfigError(path: path, reason: "expected \"info\", \"warning\" or \"critical\"")
                }
                alerts.minSeverity = severity
            case "redis_url": alerts.redisURL = try string(v, path: path)
            case "result_channel": alerts.resultChannel = try string(v, path: path)
            case "discrepancy_channel": alerts.discrepancyChannel = try string(v, path: path)
            default: throw ConfigError(path: path, reason: "unknown key (known: webhook_url, min_severity, redis_url, result_channel, discrepancy_channel)")
            }
        }
        return alerts
    }

    static func parseService(_ value: JSONValue) throws(ConfigError) -> ServiceConfig {
        guard case .object(let object) = value else { throw ConfigError(path: "service", reason: "expected an object") }
        var service = ServiceConfig()
        for (k, v) in object.entries {
            let path = "service.\(k)"
            switch k {
            case "post_fill_delay_ms": service.postFillDelayMs = try integer(v, path: path)
            case "interval_s": service.intervalS = try integer(v, path: path, min: 1)
            case "token": service.token = try string(v, path: path)
            case "body_limit_bytes": service.bodyLimitBytes = Int(try integer(v, path: path, min: 1_024))
            case "report_dir": service.reportDir = try string(v, path: path)
            default: throw ConfigError(path: path, reason: "unknown key (known: post_fill_delay_ms, interval_s, token, body_limit_bytes, report_dir)")
            }
        }
        return service
    }

    static func string(_ value: JSONValue, path: String) throws(ConfigError) -> String {
        guard case .string(let s) = value else { throw ConfigError(path: path, reason: "expected a string, got \(value.summary)") }
        return s
    }

    /// Canonical JSON of everything that changes a run's answer (not the service
    /// token or alert routing): sorted keys, canonical decimals.
    func canonical() -> String {
        func overridesJSON(_ o: Overrides) -> JSONValue {
            var t = Thresholds()
            for (k, v) in o { try? Self.set(k, v, on: &t, path: k) }
            // Normalise each overridden key to its parsed value.
            return .object(JSONObject(o.map { ($0.key, normalised($0.key, t, $0.value)) }.sorted { $0.0 < $1.0 }))
        }
        func normalised(_ key: String, _ t: Thresholds, _ raw: JSONValue) -> JSONValue {
            switch raw {
            case .string(let s): return .string(ExactDecimal(s)?.description ?? s)
            case .number(let n):
                var copy = n
                let d = copy.withUTF8 { try? ExactDecimal.parse($0, allowExponent: true) }
                return .string(d?.description ?? n)
            case .object(let o): return .object(JSONObject(o.entries.sorted { $0.key < $1.key }))
            default: return raw
            }
        }
        func choiceJSON(_ c: FeeChoice) -> JSONValue {
            let r = rates(c)
            return .object(JSONObject([("maker_bps", .string(r.makerBps.description)), ("maker_rebate_bps", .string(r.makerRebateBps.description)),
                                       ("taker_bps", .string(r.takerBps.description))]))
        }
        func mapJSON<T>(_ m: [String: T], _ f: (T) -> JSONValue) -> JSONValue {
            .object(JSONObject(m.keys.sorted().map { ($0, f(m[$0]!)) }))
        }
        let root = JSONObject([
            ("accounts", mapJSON(accountOverrides, overridesJSON)),
            ("account_assets", mapJSON(accountAssetOverrides) { mapJSON($0, overridesJSON) }),
            ("account_fee_profiles", mapJSON(accountFeeProfiles) { mapJSON($0, choiceJSON) }),
            ("account_fees", mapJSON(accountFees, choiceJSON)),
            ("account_symbols", mapJSON(accountSymbolOverrides) { mapJSON($0, overridesJSON) }),
            ("assets", mapJSON(assetOverrides, overridesJSON)),
            ("defaults", overridesJSON(defaults)),
            ("fee_profiles", mapJSON(feeProfiles, choiceJSON)),
            ("fees", fees.map(choiceJSON) ?? .null),
            ("symbols", mapJSON(symbolOverrides, overridesJSON)),
        ])
        var w = JSONWriter()
        w.value(.object(root))
        return w.text
    }
}
