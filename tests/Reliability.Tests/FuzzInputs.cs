using System.Text;

namespace Beacon.Reliability.Tests;

/// <summary>One public endpoint: method, path template ({x} = a path parameter), and a well-formed body to mutate.</summary>
public sealed record Endpoint(string Method, string Path, string? Template = null, bool Csv = false, bool Multipart = false, bool Stream = false)
{
    public override string ToString() => $"{Method} {Path}";
}

/// <summary>One malformed request: what it is (for the report), its path, body bytes and content type.</summary>
public sealed record FuzzInput(string Kind, string Path, byte[]? Body, string? ContentType);

/// <summary>
/// Seeded generator of malformed requests: broken JSON, wrong types, huge strings, deep nesting, bytes
/// that are not UTF-8, ragged CSV, injection strings, oversized uploads, hostile path and query values.
/// </summary>
public sealed class FuzzInputs(int seed)
{
    private readonly Random _random = new(seed);

    public static readonly string[] Hostile =
    [
        "", " ", "null", "-1", "0", "99999999999999999999999", "1e309", "NaN", "true", "[]", "{}",
        "' OR '1'='1", "'; DROP TABLE Students; --", "\" OR \"\"=\"", "<script>alert(1)</script>", "../../../../etc/passwd",
        "..%2f..%2fetc%2fpasswd", "${jndi:ldap://127.0.0.1/x}", "{{7*7}}", "%00", "\0", "a\r\nX-Injected: 1", "\u202Eevil", "😀😀😀",
        "\uFEFF", "00000000-0000-0000-0000-000000000000", "2026-02-30", "9999-12-31", "0001-01-01", "yesterday", "%", "%ZZ", "\\", "/",
        new string('a', 5000), string.Concat(Enumerable.Repeat("ü", 3000)),
    ];

    public static readonly string[] BadValues =
    [
        "null", "true", "0", "-1", "1.5", "1e309", "-0", "99999999999999999999999999", "\"\"", "\"x\"", "[]", "[1,2]", "{}", "{\"a\":1}",
        "\"' OR 1=1 --\"", "\"<script>\"", "\"\\u0000\"", "\"\\ud800\"", "\"2026-13-45\"", "\"9999-12-31\"", "\"present\"", "\"absent\"",
    ];

    public IEnumerable<FuzzInput> For(Endpoint endpoint, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var path = FillPath(endpoint.Path, i);
            if (endpoint.Method is "GET" or "DELETE")
            {
                yield return new FuzzInput(i % 3 == 0 ? "hostile query" : "hostile path", i % 3 == 0 ? path + "?" + HostileQuery() : path, null, null);
                continue;
            }
            yield return Body(endpoint, path, i);
        }
    }

    private string FillPath(string template, int i)
    {
        var sb = new StringBuilder();
        var rest = template;
        while (rest.IndexOf('{') is var open and >= 0)
        {
            var close = rest.IndexOf('}', open);
            sb.Append(rest[..open]);
            // Half the time a plausible id, so the body is reached; otherwise a hostile one.
            sb.Append(i % 2 == 0 ? "fuzz-1" : Uri.EscapeDataString(Pick(Hostile)));
            rest = rest[(close + 1)..];
        }
        return sb.Append(rest).ToString();
    }

    private string HostileQuery()
    {
        string[] names = ["schoolId", "status", "kind", "day", "silentDays", "from", "to", "type", "limit", "flaggedOnly", "windowWeeks", "unreadOnly", "studentId", "batchId", "source"];
        return string.Join('&', Enumerable.Range(0, 1 + _random.Next(3)).Select(_ => $"{Pick(names)}={Uri.EscapeDataString(Pick(Hostile))}"));
    }

    private FuzzInput Body(Endpoint endpoint, string path, int i)
    {
        const string Json = "application/json";
        var template = endpoint.Template ?? "{}";
        switch (i % 16)
        {
            case 0: return new("empty body", path, [], Json);
            case 1: return new("truncated JSON", path, Utf8(template[..Math.Max(1, _random.Next(template.Length))]), Json);
            case 2: return new("not an object", path, Utf8(Pick(["null", "[]", "123", "\"text\"", "true", "[[[]]]", "{}{}", "{,}"])), Json);
            case 3: return new("wrong type", path, Utf8(ReplaceValue(template, Pick(BadValues))), Json);
            case 4: return new("huge string (1 MiB)", path, Utf8(ReplaceValue(template, $"\"{new string('x', 1 << 20)}\"")), Json);
            case 5: return new("deep nesting (10,000)", path, Utf8(new string('[', 10_000) + new string(']', 10_000)), Json);
            case 6: return new("deep nesting in a field", path, Utf8(ReplaceValue(template, string.Concat(Enumerable.Repeat("{\"a\":", 500)) + "1" + new string('}', 500))), Json);
            case 7: return new("invalid UTF-8", path, InvalidUtf8(template), Json);
            case 8: return new("injection string", path, Utf8(ReplaceValue(template, System.Text.Json.JsonSerializer.Serialize(Pick(Hostile)))), Json);
            case 9: return new("duplicate and unknown keys", path, Utf8(template.Length > 2 ? "{\"__proto__\":{},\"$type\":\"System.Object\"," + template[1..^1] + "," + template[1..^1] + "}" : "{\"a\":1,\"a\":2}"), Json);
            case 10: return new("ragged CSV", path, Utf8(RaggedCsv()), "text/csv");
            case 11: return new("CSV with unterminated quote and NUL", path, [.. Utf8("studentId,date,status\n\"s1,2026-01-05,present\ns2,\0,absent\n"), 0xFF, 0xFE], "text/csv");
            case 12: return new("broken multipart", path, Utf8("--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"users.csv\"\r\n\r\nsourcedId,role\n1\n--XY"), "multipart/form-data; boundary=XYZ");
            case 13: return new("wrong content type", path, Utf8(template), Pick(["text/plain", "application/xml", "image/png", "application/x-www-form-urlencoded", "application/json; charset=utf-32", "garbage"]));
            case 14: return new("number edge cases", path, Utf8(ReplaceValue(template, Pick(["1e309", "-1e309", "1.7976931348623157e+309", "-0", "0.0000000000000000000000001", "18446744073709551616"]))), Json);
            default: return new("random bytes", path, RandomBytes(1 + _random.Next(4096)), Pick([Json, "text/csv"]));
        }
    }

    /// <summary>Oversized uploads: a 17 MiB JSON body (limit 16 MiB) and a body that claims more than it sends are sent separately.</summary>
    public static byte[] Oversized(int bytes)
    {
        var body = new byte[bytes];
        Array.Fill(body, (byte)' ');
        body[0] = (byte)'{';
        body[^1] = (byte)'}';
        return body;
    }

    /// <summary>Replaces one randomly chosen JSON scalar value of the template with <paramref name="value"/>.</summary>
    private string ReplaceValue(string template, string value)
    {
        var positions = new List<(int Start, int End)>();
        for (var i = 0; i < template.Length; i++)
        {
            if (template[i] == ':')
            {
                var start = i + 1;
                var end = start;
                if (end < template.Length && template[end] == '"')
                {
                    end = template.IndexOf('"', end + 1) + 1;
                }
                else
                {
                    while (end < template.Length && template[end] is not (',' or '}' or ']'))
                    {
                        end++;
                    }
                }
                if (end > start && template[start] is not ('[' or '{'))
                {
                    positions.Add((start, end));
                }
            }
        }
        if (positions.Count == 0)
        {
            return "{\"value\":" + value + "}";
        }
        var (s, e) = positions[_random.Next(positions.Count)];
        return template[..s] + value + template[e..];
    }

    private byte[] InvalidUtf8(string template)
    {
        var bytes = Utf8(template).ToList();
        var quote = bytes.IndexOf((byte)'"', Math.Min(bytes.Count - 1, _random.Next(bytes.Count)));
        byte[][] bad = [[0xC3, 0x28], [0xFF], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xC0, 0xAF], [0xE2, 0x82]];
        bytes.InsertRange(quote < 0 ? bytes.Count : quote + 1, Pick(bad));
        return [.. bytes];
    }

    private string RaggedCsv()
    {
        var sb = new StringBuilder("studentId,date,status\n");
        for (var i = 0; i < 1 + _random.Next(30); i++)
        {
            var cells = Enumerable.Range(0, _random.Next(7)).Select(_ => Pick(Hostile).Replace("\0", "", StringComparison.Ordinal));
            sb.Append(string.Join(Pick([",", ";", "\t", ",,"]), cells)).Append(Pick(["\n", "\r\n", "\r", "\"\n"]));
        }
        return sb.ToString();
    }

    private byte[] RandomBytes(int n)
    {
        var bytes = new byte[n];
        _random.NextBytes(bytes);
        return bytes;
    }

    private T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);
}
