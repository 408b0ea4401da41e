using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Xml;
using Beacon.Ingestion.Apis;

namespace Beacon.Ingestion.Intake;

/// <summary>
/// Maps xAPI statements to Beacon's signals. The verbs that matter here: answered and attempted become
/// item responses (result.success is the answer's correctness; the item's skills are listed in the
/// object's definition extension <see cref="SkillsExtension"/>); completed and experienced become LMS
/// activity. Any other verb, or a statement that does not name the student as actor.account.name, is
/// rejected with the reason.
/// </summary>
public static class XapiStatements
{
    public const string SkillsExtension = "https://beacon.example.org/xapi/extensions/skills";
    public const string AttemptExtension = "https://beacon.example.org/xapi/extensions/attempt";
    public const string HintsExtension = "https://beacon.example.org/xapi/extensions/hints";

    private static readonly Dictionary<string, string> Verbs = new(StringComparer.Ordinal)
    {
        ["http://adlnet.gov/expapi/verbs/answered"] = "answered",
        ["http://adlnet.gov/expapi/verbs/attempted"] = "attempted",
        ["http://adlnet.gov/expapi/verbs/completed"] = "completed",
        ["http://adlnet.gov/expapi/verbs/experienced"] = "experienced",
    };

    public static (List<Positioned<ItemResponseRow>> Answers, List<Positioned<LmsActivityRow>> Activities) Map(JsonNode body, RowErrors errors)
    {
        var statements = body is JsonArray array ? array : new JsonArray(body.DeepClone());
        var answers = new List<Positioned<ItemResponseRow>>();
        var activities = new List<Positioned<LmsActivityRow>>();
        for (var i = 0; i < statements.Count; i++)
        {
            var position = $"statements[{i}]";
            void Reject(string field, string reason) => errors.Add(position, statements[i]?.ToJsonString() ?? "null", field, reason);

            if (statements[i] is not JsonObject statement)
            {
                Reject("statement", "must be a JSON object.");
                continue;
            }
            var verbId = Text(statement, "verb", "id");
            if (verbId is null || !Verbs.TryGetValue(verbId, out var verb))
            {
                Reject("verb.id", $"'{Rules.Show(verbId)}' is not accepted here; use the ADL verbs answered, attempted, completed or experienced.");
                continue;
            }
            var studentId = Text(statement, "actor", "account", "name");
            if (studentId is null)
            {
                Reject("actor", "must name the student as actor.account.name (the district's student id).");
                continue;
            }
            var objectId = Text(statement, "object", "id");
            if (objectId is null)
            {
                Reject("object.id", "is required.");
                continue;
            }
            DateTimeOffset? timestamp = DateTimeOffset.TryParse(Text(statement, "timestamp"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null;
            double? duration = null;
            if (Text(statement, "result", "duration") is { } iso)
            {
                try
                {
                    duration = XmlConvert.ToTimeSpan(iso).TotalSeconds;
                }
                catch (FormatException)
                {
                    Reject("result.duration", $"'{Rules.Show(iso)}' is not an ISO-8601 duration (for example PT45S).");
                    continue;
                }
            }

            if (verb is "answered" or "attempted")
            {
                var success = statement["result"]?["success"];
                var skills = statement["object"]?["definition"]?["extensions"]?[SkillsExtension] as JsonArray;
                if (success is not JsonValue successValue || !successValue.TryGetValue<bool>(out var correct))
                {
                    Reject("result.success", "is required (true or false) for an answer.");
                    continue;
                }
                if (skills is null)
                {
                    Reject("object.definition.extensions", $"must list the item's skills under '{SkillsExtension}'.");
                    continue;
                }
                answers.Add(new Positioned<ItemResponseRow>(position, new ItemResponseRow
                {
                    StudentId = studentId,
                    ItemId = objectId.TrimEnd('/').Split('/', '#')[^1],
                    SkillIds = skills.Select(s => s?.GetValueKind() == JsonValueKind.String ? s.GetValue<string>() : "").ToList(),
                    Correct = correct,
                    AttemptNumber = Number(statement["result"]?["extensions"]?[AttemptExtension]) ?? 1,
                    HintsUsed = Number(statement["result"]?["extensions"]?[HintsExtension]) ?? 0,
                    TimeOnTaskSeconds = duration ?? 0,
                    AnsweredAt = timestamp,
                }));
            }
            else
            {
                activities.Add(new Positioned<LmsActivityRow>(position, new LmsActivityRow
                {
                    StatementId = Text(statement, "id") ?? $"{studentId}|{verb}|{objectId}|{timestamp:O}",
                    StudentId = studentId,
                    Verb = verb,
                    ObjectId = objectId,
                    DurationSeconds = duration,
                    Timestamp = timestamp,
                }));
            }
        }
        return (answers, activities);
    }

    private static string? Text(JsonNode node, params string[] path)
    {
        JsonNode? current = node;
        foreach (var step in path)
        {
            current = current is JsonObject o ? o[step] : null;
        }
        return current is JsonValue value && value.TryGetValue<string>(out var text) && text.Length > 0 ? text : null;
    }

    private static int? Number(JsonNode? node) => node is JsonValue value && value.TryGetValue<int>(out var n) ? n : null;
}
