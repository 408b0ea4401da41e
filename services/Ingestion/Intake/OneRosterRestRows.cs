using System.Globalization;
using System.Text.Json;

namespace Beacon.Ingestion.Intake;

/// <summary>
/// OneRoster REST 1.2 JSON records as the rows of the equivalent CSV files, so a pull goes through the very import,
/// validation, row errors, quarantine and events a CSV bundle does (<see cref="OneRosterImport.ApplyAsync"/>).
/// The binding's shapes map to the CSV columns the same way for every collection: a scalar keeps its name; a
/// reference object ({sourcedId, href, type}) becomes &lt;name&gt;SourcedId (parent, school, class, user, course,
/// primaryOrg); a list of references becomes &lt;singular&gt;SourcedIds (agents, terms, orgs); a list of strings is
/// comma-joined (grades); userIds [{type, identifier}] become "{type:identifier}"; metadata.x becomes the
/// metadata.x column. A 1.2 user's roles [{roleType, role, org}] become roles.csv rows.
/// </summary>
public static class OneRosterRestRows
{
    /// <summary>The collections pulled, their CSV file, and the JSON property that holds them in a page.</summary>
    public static readonly IReadOnlyList<(string Collection, string File)> Collections =
    [
        ("orgs", "orgs.csv"), ("academicSessions", "academicSessions.csv"), ("users", "users.csv"),
        ("classes", "classes.csv"), ("enrollments", "enrollments.csv"), ("demographics", "demographics.csv"),
    ];

    /// <summary>One record as the row its CSV file would carry.</summary>
    public static Dictionary<string, string> Row(JsonElement record)
    {
        var row = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var property in record.EnumerateObject())
        {
            var (name, value) = (property.Name, property.Value);
            switch (value.ValueKind)
            {
                case JsonValueKind.Object when name == "metadata":
                    foreach (var extension in value.EnumerateObject().Where(e => Scalar(e.Value) is not null))
                    {
                        row["metadata." + extension.Name] = Scalar(extension.Value)!;
                    }
                    break;
                case JsonValueKind.Object:
                    if (Reference(value) is { } id)
                    {
                        row[name + "SourcedId"] = id;
                    }
                    break;
                case JsonValueKind.Array when name == "userIds":
                    row[name] = string.Join(',', value.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.Object)
                        .Select(v => $"{{{Text(v, "type")}:{Text(v, "identifier")}}}"));
                    break;
                case JsonValueKind.Array when name is "roles" or "children":
                    break;   // roles: RolesOf; children: the tree is read from each org's parent
                case JsonValueKind.Array:
                    var items = value.EnumerateArray().ToList();
                    if (items.All(i => Scalar(i) is not null))
                    {
                        row[name] = string.Join(',', items.Select(i => Scalar(i)));
                    }
                    else if (items.All(i => i.ValueKind == JsonValueKind.Object))
                    {
                        row[(name.EndsWith('s') ? name[..^1] : name) + "SourcedIds"] = string.Join(',', items.Select(Reference).OfType<string>());
                    }
                    break;
                default:
                    if (Scalar(value) is { } text)
                    {
                        row[name] = text;
                    }
                    break;
            }
        }
        return row;
    }

    /// <summary>A 1.2 user's roles as roles.csv rows (a 1.1 user's single role stays in its row's role column).</summary>
    public static IEnumerable<Dictionary<string, string>> RolesOf(JsonElement user)
    {
        if (!user.TryGetProperty("roles", out var roles) || roles.ValueKind != JsonValueKind.Array)
        {
            yield break;
        }
        var userId = Text(user, "sourcedId");
        var index = 0;
        foreach (var role in roles.EnumerateArray().Where(r => r.ValueKind == JsonValueKind.Object))
        {
            var row = Row(role);
            row["sourcedId"] = $"{userId}#roles[{index++}]";
            row["userSourcedId"] = userId ?? "";
            row["status"] = Text(user, "status") ?? "active";
            yield return row;
        }
    }

    /// <summary>A record's dateLastModified, for the connector's high-water mark; null when absent or unreadable.</summary>
    public static DateTimeOffset? LastModified(JsonElement record) =>
        Text(record, "dateLastModified") is { } text
        && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)
            ? at : null;

    private static string? Reference(JsonElement value) =>
        value.ValueKind == JsonValueKind.Object ? Text(value, "sourcedId") : null;

    private static string? Text(JsonElement value, string property) =>
        value.ValueKind == JsonValueKind.Object && value.TryGetProperty(property, out var p) ? Scalar(p) : null;

    /// <summary>A string, number or boolean as the CSV would write it; null for anything else.</summary>
    private static string? Scalar(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Number => value.GetRawText(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => null,
    };
}
