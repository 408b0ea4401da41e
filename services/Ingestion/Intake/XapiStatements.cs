using System.Text.Json.Nodes;
using Beacon.Ingestion.Apis;
using Beacon.Ingestion.Domain;
using static Beacon.Ingestion.Intake.XapiValidation;

namespace Beacon.Ingestion.Intake;

/// <summary>Which roster identifiers an xAPI account's name is matched against (setting Xapi:AccountNameMatches).</summary>
public sealed class XapiOptions
{
    /// <summary>
    /// Tried in order after an uploaded account map entry: sourcedId (the roster's student id), then the OneRoster
    /// identifier, userIds and username kept at roster load. A district whose LMS names accounts by email adds "email".
    /// </summary>
    public List<string> AccountNameMatches { get; set; } = ["sourcedId", IdentifierKinds.Identifier, IdentifierKinds.UserId, IdentifierKinds.Username];

    /// <summary>Activity definition extensions read as the item's skills (an array of skill ids) when the catalog has none.</summary>
    public List<string> SkillExtensions { get; set; } = [XapiStatements.SkillsExtension];
}

/// <summary>What one valid statement becomes: an answer, LMS activity, a voiding, or nothing (with the reason).</summary>
public sealed record XapiPlan(string Use, string? Reason, ItemResponseRow? Answer = null, LmsActivityRow? Activity = null, string? Voids = null)
{
    public static XapiPlan NotUsed(string reason) => new(XapiUses.NotUsed, reason);
}

/// <summary>
/// Maps valid xAPI statements (checked by <see cref="XapiValidation"/>) to Beacon's signals, the way learning tools
/// send them: <c>answered</c> with a cmi.interaction definition becomes an item response (correct from
/// result.success, else the response against correctResponsesPattern, else full marks in result.score); the
/// item's skills come from the item catalog (by the object's id, else the definition's skills extension, else
/// the catalog entry of a parent activity such as the quiz); <c>completed</c>, <c>attempted</c> and
/// <c>experienced</c> become LMS activity with result.duration. The actor is found through the identifier map.
/// Anything else is a statement Beacon stores and does not use, with the reason.
/// </summary>
public static class XapiStatements
{
    public const string SkillsExtension = "https://beacon.example.org/xapi/extensions/skills";
    public const string AttemptExtension = "https://beacon.example.org/xapi/extensions/attempt";
    public const string HintsExtension = "https://beacon.example.org/xapi/extensions/hints";
    private const string Adl = "http://adlnet.gov/expapi/verbs/";

    public static readonly IReadOnlySet<string> ActivityVerbs = new HashSet<string> { "completed", "attempted", "experienced" };

    /// <summary>The identifiers an actor could be found under, most specific first (Kind "sourcedId" is the roster's own id).</summary>
    public static List<(string Kind, string Value)> ActorKeys(JsonObject actor, XapiOptions options)
    {
        var keys = new List<(string, string)>();
        if (Text(actor["mbox"]) is { } mbox)
        {
            keys.Add((IdentifierKinds.Email, mbox["mailto:".Length..].Trim().ToLowerInvariant()));
        }
        if (Text(actor["mbox_sha1sum"]) is { } sum)
        {
            keys.Add((IdentifierKinds.MboxSha1Sum, sum.ToLowerInvariant()));
        }
        if (Text(actor["openid"]) is { } openid)
        {
            keys.Add((IdentifierKinds.OpenId, openid));
        }
        if (actor["account"] is JsonObject account && Text(account["homePage"]) is { } home && Text(account["name"]) is { } name)
        {
            keys.Add((IdentifierKinds.Account, AccountKey(home, name)));
            keys.AddRange(options.AccountNameMatches.Select(kind => (kind, kind == IdentifierKinds.Email ? name.ToLowerInvariant() : name)));
        }
        return keys;
    }

    /// <summary>How an account is stored in the identifier map: the home page (without a trailing slash), a space, the name.</summary>
    public static string AccountKey(string homePage, string name) => $"{homePage.TrimEnd('/')} {name}";

    /// <summary>Where a statement stands, from its verb, actor, object and result; <paramref name="studentId"/> is the mapped actor.</summary>
    public static XapiPlan Plan(JsonObject statement, string id, string? studentId, DateTimeOffset timestamp,
        IReadOnlyDictionary<string, CatalogItem> catalog, XapiOptions options)
    {
        var verbId = Text(statement["verb"]?["id"])!;
        if (verbId == VoidedVerb)
        {
            return new XapiPlan(XapiUses.Voiding, null, Voids: Text(statement["object"]?["id"])!.ToLowerInvariant());
        }
        var verb = verbId.StartsWith(Adl, StringComparison.Ordinal) ? verbId[Adl.Length..] : null;
        if (verb != "answered" && (verb is null || !ActivityVerbs.Contains(verb)))
        {
            return XapiPlan.NotUsed($"verb '{verbId}' is not one Beacon uses (ADL answered, completed, attempted, experienced).");
        }
        if (Text(statement["actor"]?["objectType"]) == "Group")
        {
            return XapiPlan.NotUsed("the actor is a Group; Beacon records one student's learning.");
        }
        if (studentId is null)
        {
            return XapiPlan.NotUsed("the actor is not mapped to a roster student (add the identifier to the xAPI identifier map, or to the roster).");
        }
        var target = statement["object"] as JsonObject;
        if ((Text(target?["objectType"]) ?? "Activity") != "Activity")
        {
            return XapiPlan.NotUsed($"the object is a {Text(target?["objectType"])}, not an Activity.");
        }
        var objectId = Text(target!["id"])!;
        var duration = DurationSeconds(Text(statement["result"]?["duration"]));
        if (verb != "answered")
        {
            return new XapiPlan(XapiUses.Activity, null, Activity: new LmsActivityRow
            {
                StatementId = id,
                StudentId = studentId,
                Verb = verb,
                ObjectId = objectId,
                DurationSeconds = duration,
                Timestamp = timestamp,
            });
        }

        var (itemId, skills) = Skills(statement, objectId, catalog, options);
        if (skills is null)
        {
            return XapiPlan.NotUsed($"no skills for item '{objectId}': add it (or its quiz) to the item catalog.");
        }
        if (Correct(statement) is not { } correct)
        {
            return XapiPlan.NotUsed("the answer's correctness is not known: no result.success, no result.response with a correctResponsesPattern, no result.score.");
        }
        return new XapiPlan(XapiUses.Answer, null, Answer: new ItemResponseRow
        {
            StudentId = studentId,
            ItemId = itemId,
            SkillIds = skills,
            Correct = correct,
            AttemptNumber = Number(statement["result"]?["extensions"]?[AttemptExtension]),
            HintsUsed = Number(statement["result"]?["extensions"]?[HintsExtension]) ?? 0,
            TimeOnTaskSeconds = duration ?? 0,
            AnsweredAt = timestamp,
        });
    }

    /// <summary>The activity ids the catalog is asked about: the object, then the activities it sits in (the quiz a question is part of).</summary>
    public static IEnumerable<string> CatalogKeys(JsonObject statement) =>
        new[] { Text(statement["object"]?["id"]) }.Concat(Parents(statement)).OfType<string>();

    /// <summary>
    /// The activities a statement's object sits in: its parents, then its groupings narrowest first (tools list them from
    /// the site down: site, course, quiz), so a quiz in the catalog gives its questions their skills.
    /// </summary>
    private static IEnumerable<string?> Parents(JsonObject statement)
    {
        static IEnumerable<string?> Ids(JsonNode? node) => node switch
        {
            JsonArray list => list.Select(p => Text(p?["id"])),
            JsonObject one => [Text(one["id"])],
            _ => [],
        };
        var activities = statement["context"]?["contextActivities"];
        return Ids(activities?["parent"]).Concat(Ids(activities?["grouping"]).Reverse());
    }

    private static (string ItemId, List<string>? Skills) Skills(JsonObject statement, string objectId, IReadOnlyDictionary<string, CatalogItem> catalog, XapiOptions options)
    {
        if (catalog.TryGetValue(objectId, out var item))
        {
            return (item.ItemId, [.. item.SkillIds.Split(',')]);
        }
        var itemId = ItemIdOf(objectId);
        var extensions = statement["object"]?["definition"]?["extensions"] as JsonObject;
        foreach (var key in options.SkillExtensions)
        {
            if (extensions?[key] is JsonArray list && list.Count > 0)
            {
                return (itemId, [.. list.Select(s => Text(s) ?? "")]);
            }
        }
        var parent = Parents(statement).OfType<string>().FirstOrDefault(catalog.ContainsKey);
        return (itemId, parent is null ? null : [.. catalog[parent].SkillIds.Split(',')]);
    }

    /// <summary>
    /// The item id an activity IRI is stored under: its last path segment (with its query, as in question.php?id=12), or
    /// when that is longer than an id may be, its start and a hash of the whole IRI so two items never share one.
    /// </summary>
    public static string ItemIdOf(string activityId)
    {
        var trimmed = activityId.TrimEnd('/');
        var last = trimmed[(trimmed.LastIndexOfAny(['/', '#']) + 1)..];
        if (last.Length is > 0 and <= Rules.MaxIdLength)
        {
            return last;
        }
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(activityId)))[..16];
        return $"{last[..Math.Min(last.Length, Rules.MaxIdLength - 17)]}~{hash}";
    }

    private static bool? Correct(JsonObject statement)
    {
        var result = statement["result"] as JsonObject;
        if (result?["success"] is JsonValue success)
        {
            return success.GetValue<bool>();
        }
        if (result?["response"] is JsonValue response && statement["object"]?["definition"]?["correctResponsesPattern"] is JsonArray patterns && patterns.Count > 0)
        {
            var given = response.GetValue<string>();
            return patterns.Any(p => p is JsonValue v && v.GetValue<string>() == given);
        }
        if (result?["score"] is JsonObject score)
        {
            if (score["scaled"] is JsonValue scaled)
            {
                return scaled.GetValue<double>() >= 1;
            }
            if (score["raw"] is JsonValue raw && score["max"] is JsonValue max)
            {
                return raw.GetValue<double>() >= max.GetValue<double>();
            }
        }
        return null;
    }

    private static int? Number(JsonNode? node) => node is JsonValue value && value.TryGetValue<int>(out var n) ? n : null;
}
