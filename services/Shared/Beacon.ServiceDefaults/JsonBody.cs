using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Unicode;
using FluentValidation;
using Microsoft.AspNetCore.Http;

namespace Beacon.ServiceDefaults;

/// <summary>
/// Reads a JSON body ourselves so that malformed JSON becomes a 400 naming where it broke: bytes that are
/// not UTF-8, duplicate keys, nesting deeper than 16 and numbers no double can hold are refused before any
/// row is looked at (each once answered 500 further in). Every service's endpoints that take a JSON body
/// read it here, so they all answer the same way.
/// </summary>
public static class JsonBody
{
    private const int MaxDepth = 16;

    private static readonly JsonDocumentOptions Document = new() { MaxDepth = MaxDepth, AllowDuplicateProperties = false };

    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        MaxDepth = MaxDepth,
        AllowDuplicateProperties = false,
        Converters = { new FiniteDoubleConverter() },
    };

    public static async Task<(T? Value, IResult? Problem)> ReadAsync<T>(HttpRequest request, CancellationToken ct)
        where T : class
    {
        byte[] bytes;
        try
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer, ct);
            bytes = buffer.ToArray();
        }
        catch (BadHttpRequestException ex)
        {
            return (null, Results.Problem(title: "Unreadable request body; nothing was stored", detail: ex.Message, statusCode: ex.StatusCode));
        }
        if (!Utf8.IsValid(bytes))
        {
            return (null, Malformed("$", $"{Where(bytes)}the body is not UTF-8 text; send JSON encoded as UTF-8."));
        }
        try
        {
            var value = Parse<T>(bytes);
            return value is null
                ? (null, Results.ValidationProblem(new Dictionary<string, string[]> { ["$"] = ["A JSON object is required."] }, title: "Empty request body"))
                : (value, null);
        }
        catch (JsonException ex)
        {
            var where = ex.Path is { Length: > 0 } path ? path : "$";
            var line = ex.LineNumber is { } l ? $"line {l + 1}, position {ex.BytePositionInLine + 1}: " : "";
            var reason = ex.InnerException?.Message ?? (ex.Message.Contains("duplicate", StringComparison.OrdinalIgnoreCase)
                ? "Duplicate property names are not allowed (each key once per object)."
                : "the value does not fit the expected type.");
            return (null, Malformed(where, line + reason));
        }
    }

    /// <summary>
    /// Typed bodies are read straight from the bytes (the error names the path, e.g. $.records[0]). A
    /// JsonNode is built lazily, so a duplicate key would only throw when a handler first reads the object:
    /// parse it as a document first, which checks the whole body.
    /// </summary>
    /// <summary>Reads the body as above, then validates it: each failing field becomes an entry of the 400's errors (camelCase).</summary>
    public static async Task<(T? Value, IResult? Problem)> ReadAsync<T>(HttpRequest request, IValidator<T> validator, CancellationToken ct)
        where T : class
    {
        var (value, problem) = await ReadAsync<T>(request, ct);
        if (value is null)
        {
            return (null, problem);
        }
        var result = await validator.ValidateAsync(value, ct);
        if (!result.IsValid)
        {
            var errors = result.Errors
                .GroupBy(e => JsonNamingPolicy.CamelCase.ConvertName(e.PropertyName))
                .ToDictionary(g => g.Key, g => g.Select(e => e.ErrorMessage).ToArray());
            return (null, Results.ValidationProblem(errors, title: "Invalid request; nothing was changed"));
        }
        return (value, null);
    }

    private static T? Parse<T>(byte[] bytes)
    {
        if (!typeof(System.Text.Json.Nodes.JsonNode).IsAssignableFrom(typeof(T)))
        {
            return JsonSerializer.Deserialize<T>(bytes, Options);
        }
        using var document = JsonDocument.Parse(bytes, Document);
        return document.Deserialize<T>(Options);
    }

    private static IResult Malformed(string where, string reason) =>
        Results.ValidationProblem(new Dictionary<string, string[]> { [where] = [reason] }, title: "Malformed JSON; nothing was stored");

    /// <summary>"line L, byte B: " of the first byte that is not UTF-8.</summary>
    private static string Where(byte[] bytes)
    {
        Utf8.ToUtf16(bytes, new char[bytes.Length], out var valid, out _, replaceInvalidSequences: false);
        var line = 1 + bytes.AsSpan(0, valid).Count((byte)'\n');
        return $"line {line}, byte {valid + 1}: ";
    }

    /// <summary>1e309 parses as infinity, which no database column or outgoing event can carry: refuse it with the field's path.</summary>
    private sealed class FiniteDoubleConverter : JsonConverter<double>
    {
        public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            // Strings holding numbers stay accepted, as the web defaults allow.
            var value = reader.TokenType switch
            {
                JsonTokenType.Number when reader.TryGetDouble(out var number) => number,
                JsonTokenType.String when double.TryParse(reader.GetString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var number) => number,
                _ => double.NaN,
            };
            if (!double.IsFinite(value))
            {
                throw new JsonException(null, new FormatException("must be a finite number (within ±1.7e308)."));
            }
            return value;
        }

        public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options) => writer.WriteNumberValue(value);
    }
}
