using System.Text.Json;

namespace Beacon.Ingestion.Api;

/// <summary>Reads a JSON body ourselves so that malformed JSON becomes a 400 naming where it broke.</summary>
public static class JsonBody
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { MaxDepth = 16 };

    public static async Task<(T? Value, IResult? Problem)> ReadAsync<T>(HttpRequest request, CancellationToken ct)
        where T : class
    {
        try
        {
            var value = await JsonSerializer.DeserializeAsync<T>(request.Body, Options, ct);
            return value is null
                ? (null, Results.ValidationProblem(new Dictionary<string, string[]> { ["$"] = ["A JSON object is required."] }, title: "Empty request body"))
                : (value, null);
        }
        catch (JsonException ex)
        {
            var where = ex.Path is { Length: > 0 } path ? path : "$";
            var line = ex.LineNumber is { } l ? $"line {l + 1}, position {ex.BytePositionInLine + 1}: " : "";
            var reason = ex.InnerException?.Message ?? "the value does not fit the expected type.";
            return (null, Results.ValidationProblem(
                new Dictionary<string, string[]> { [where] = [$"{line}{reason}"] },
                title: "Malformed JSON; nothing was stored"));
        }
        catch (BadHttpRequestException ex)
        {
            return (null, Results.Problem(title: "Unreadable request body; nothing was stored", detail: ex.Message, statusCode: ex.StatusCode));
        }
    }
}
