using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Beacon.ServiceDefaults;

/// <summary>
/// Removes credentials from text that is kept (the gateway's audit log, every log line): bearer and basic
/// credentials, anything shaped like a JWT, and the values of query parameters and JSON properties that carry
/// one (access_token, token, code, ticket, ...). A token in a log or the audit store is a token anyone who
/// reads them can use until it expires.
/// </summary>
public static partial class CredentialRedaction
{
    public const string Mask = "[redacted]";

    // Query (or form) parameters: ?access_token=..., &code=..., also with a percent-encoded '='.
    [GeneratedRegex(@"(?<=[?&;](?:access_token|id_token|refresh_token|token|code|ticket|client_secret|password)(?:=|%3D))[^&;#\s""'<>]+",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex QueryCredential();

    // JSON: "accessToken": "...", "access_token":"...", "ticket": "...".
    [GeneratedRegex(@"(?<=""(?:access_?token|id_?token|refresh_?token|token|code|ticket|client_?secret|password|authorization)""\s*:\s*"")[^""]+",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex JsonCredential();

    // Header forms: "Authorization: Bearer x", "Bearer x", "Basic x".
    [GeneratedRegex(@"(?<=\b(?:Bearer|Basic)\s+)[A-Za-z0-9\-._~+/]{12,}=*", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SchemeCredential();

    [GeneratedRegex(@"(?<=\bAuthorization\s*[:=]\s*)(?!\[redacted\])(?!(?:Bearer|Basic)\s)[^\s,;""']+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex AuthorizationValue();

    // A JWT anywhere (header.payload.signature, the header always starts with eyJ = '{"').
    [GeneratedRegex(@"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")]
    private static partial Regex Jwt();

    /// <summary>The text with every credential replaced by <see cref="Mask"/>; the same string when there was none.</summary>
    public static string Redact(string text)
    {
        if (string.IsNullOrEmpty(text) || !MayHoldCredential(text))
        {
            return text;
        }
        var redacted = Jwt().Replace(text, Mask);
        redacted = QueryCredential().Replace(redacted, Mask);
        redacted = JsonCredential().Replace(redacted, Mask);
        redacted = SchemeCredential().Replace(redacted, Mask);
        return AuthorizationValue().Replace(redacted, Mask);
    }

    public static string? RedactOrNull(string? text) => text is null ? null : Redact(text);

    // Most log lines hold none of these: skip the regular expressions for them.
    private static bool MayHoldCredential(string text) =>
        text.Contains("eyJ", StringComparison.Ordinal)
        || text.Contains("token", StringComparison.OrdinalIgnoreCase)
        || text.Contains("code", StringComparison.OrdinalIgnoreCase)
        || text.Contains("ticket", StringComparison.OrdinalIgnoreCase)
        || text.Contains("secret", StringComparison.OrdinalIgnoreCase)
        || text.Contains("password", StringComparison.OrdinalIgnoreCase)
        || text.Contains("bearer", StringComparison.OrdinalIgnoreCase)
        || text.Contains("basic", StringComparison.OrdinalIgnoreCase)
        || text.Contains("authorization", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Every logger of the app redacts: the logger factory is wrapped, so every provider (console, OpenTelemetry,
    /// one a test adds later) gets the redacted line, whichever library wrote it (Kestrel and the hosting layer
    /// log request URLs with their query strings at Debug/Information).
    /// </summary>
    public static IHostApplicationBuilder AddCredentialRedaction(this IHostApplicationBuilder builder)
    {
        builder.Services.Replace(ServiceDescriptor.Singleton<ILoggerFactory>(sp => new RedactingLoggerFactory(new LoggerFactory(
            sp.GetServices<ILoggerProvider>(),
            sp.GetRequiredService<IOptionsMonitor<LoggerFilterOptions>>(),
            sp.GetService<IOptions<LoggerFactoryOptions>>(),
            sp.GetService<IExternalScopeProvider>()))));
        return builder;
    }
}

internal sealed class RedactingLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) => new RedactingLogger(inner.CreateLogger(categoryName));

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose() => inner.Dispose();
}

internal sealed class RedactingLogger(ILogger inner) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => inner.BeginScope(state);

    public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!inner.IsEnabled(logLevel))
        {
            return;
        }
        var message = formatter(state, exception);
        var redacted = CredentialRedaction.Redact(message);
        var exceptionText = exception?.ToString();
        var cleanException = exceptionText is null || CredentialRedaction.Redact(exceptionText) == exceptionText;
        if (redacted == message && cleanException && !StateHoldsCredential(state))
        {
            inner.Log(logLevel, eventId, state, exception, formatter);
            return;
        }
        // Structured values are redacted too (JSON consoles and exporters print them, not only the message).
        IReadOnlyList<KeyValuePair<string, object?>> values = state is IReadOnlyList<KeyValuePair<string, object?>> list
            ? [.. list.Select(kv => kv.Key == "{OriginalFormat}" || kv.Value is null or ValueType
                ? kv
                : new KeyValuePair<string, object?>(kv.Key, CredentialRedaction.Redact(kv.Value.ToString() ?? "")))]
            : [];
        var safeException = cleanException ? exception : new RedactedException(exception!.GetType().FullName!, CredentialRedaction.Redact(exceptionText!));
        inner.Log(logLevel, eventId, values, safeException, (_, _) => redacted);
    }

    private static bool StateHoldsCredential<TState>(TState state) =>
        state is IReadOnlyList<KeyValuePair<string, object?>> list
        && list.Any(kv => kv.Key != "{OriginalFormat}" && kv.Value is string s && CredentialRedaction.Redact(s) != s);
}

/// <summary>Stands in for an exception whose text held a credential: its type and redacted text, no stack of its own.</summary>
public sealed class RedactedException(string type, string text) : Exception($"{type} (credentials redacted): {text}");
