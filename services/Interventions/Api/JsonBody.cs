using System.Text.Json;
using FluentValidation;

namespace Beacon.Interventions.Api;

/// <summary>Reads and validates a JSON body; anything wrong becomes a 400 problem naming the field.</summary>
public static class JsonBody
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { MaxDepth = 16 };

    public static async Task<(T? Value, IResult? Problem)> ReadAsync<T>(HttpRequest request, IValidator<T> validator, CancellationToken ct)
        where T : class
    {
        T? value;
        try
        {
            value = await JsonSerializer.DeserializeAsync<T>(request.Body, Options, ct);
        }
        catch (JsonException ex)
        {
            var where = ex.Path is { Length: > 0 } path ? path : "$";
            var line = ex.LineNumber is { } l ? $"line {l + 1}, position {ex.BytePositionInLine + 1}: " : "";
            return (null, Results.ValidationProblem(
                new Dictionary<string, string[]> { [where] = [$"{line}{ex.InnerException?.Message ?? "the value does not fit the expected type."}"] },
                title: "Malformed JSON; nothing was changed"));
        }
        catch (BadHttpRequestException ex)
        {
            return (null, Results.Problem(title: "Unreadable request body; nothing was changed", detail: ex.Message, statusCode: ex.StatusCode));
        }
        if (value is null)
        {
            return (null, Results.ValidationProblem(new Dictionary<string, string[]> { ["$"] = ["A JSON object is required."] }, title: "Empty request body"));
        }
        var result = validator.Validate(value);
        if (!result.IsValid)
        {
            var errors = result.Errors
                .GroupBy(e => JsonNamingPolicy.CamelCase.ConvertName(e.PropertyName))
                .ToDictionary(g => g.Key, g => g.Select(e => e.ErrorMessage).ToArray());
            return (null, Results.ValidationProblem(errors, title: "Invalid request; nothing was changed"));
        }
        return (value, null);
    }
}
