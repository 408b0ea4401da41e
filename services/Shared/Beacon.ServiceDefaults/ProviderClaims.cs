using System.Security.Claims;
using System.Text.Json;

namespace Beacon.ServiceDefaults;

/// <summary>
/// Where a district's identity provider puts the things Beacon needs (section <c>Auth:Claims</c>). Each is a claim
/// name, or a dotted path into a JSON claim (Keycloak's realm roles are <c>realm_access.roles</c>). Presets are in
/// docs/security.md: Keycloak <c>realm_access.roles</c> / <c>school</c>, Entra ID <c>roles</c> / a directory extension
/// such as <c>extn.school</c>. The defaults are Beacon's own names, so the development issuer needs no setting.
/// </summary>
public sealed class ClaimNames
{
    public string Subject { get; set; } = BeaconClaims.Subject;
    public string Name { get; set; } = BeaconClaims.Name;
    public string Role { get; set; } = BeaconClaims.Role;
    public string School { get; set; } = BeaconClaims.School;
}

/// <summary>
/// Copies the provider's role, school, subject and name claims into Beacon's (<c>role</c>, <c>school</c>, <c>sub</c>,
/// <c>name</c>), which every policy and the record-level school rule read. Applied by the gateway to the signed-in
/// session and by every service to the bearer token it validates, with the same settings, so both agree on who
/// the caller is. Role values are lower-cased: providers name app roles as they like ("Counselor").
/// </summary>
public static class ProviderClaims
{
    public static void Apply(ClaimsIdentity identity, ClaimNames names)
    {
        Copy(identity, names.Subject, BeaconClaims.Subject, single: true, lower: false);
        Copy(identity, names.Name, BeaconClaims.Name, single: true, lower: false);
        Copy(identity, names.Role, BeaconClaims.Role, single: false, lower: true);
        Copy(identity, names.School, BeaconClaims.School, single: false, lower: false);
    }

    private static void Copy(ClaimsIdentity identity, string from, string to, bool single, bool lower)
    {
        if (string.IsNullOrWhiteSpace(from) || from == to && !lower)
        {
            return;
        }
        var have = identity.FindAll(to).Select(c => c.Value).ToHashSet(StringComparer.Ordinal);
        if (single && have.Count > 0)
        {
            return;
        }
        foreach (var value in Values(identity, from))
        {
            var v = lower ? value.ToLowerInvariant() : value;
            if (have.Add(v))
            {
                identity.AddClaim(new Claim(to, v));
            }
            if (single)
            {
                return;
            }
        }
    }

    /// <summary>The values of a claim, or of a dotted path into a JSON-valued claim (an object claim in a JWT).</summary>
    public static IEnumerable<string> Values(ClaimsIdentity identity, string path)
    {
        var direct = identity.FindAll(path).ToList();
        if (direct.Count > 0)
        {
            return direct.SelectMany(c => FromClaimValue(c.Value));
        }
        var dot = path.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0)
        {
            return [];
        }
        var values = new List<string>();
        foreach (var claim in identity.FindAll(path[..dot]))
        {
            try
            {
                using var json = JsonDocument.Parse(claim.Value);
                var node = json.RootElement;
                var found = true;
                foreach (var segment in path[(dot + 1)..].Split('.'))
                {
                    if (node.ValueKind != JsonValueKind.Object || !node.TryGetProperty(segment, out node))
                    {
                        found = false;
                        break;
                    }
                }
                if (found)
                {
                    values.AddRange(Strings(node));
                }
            }
            catch (JsonException)
            {
                // Not JSON: a plain claim whose name happens to contain no such path.
            }
        }
        return values;
    }

    // A JSON array arrives as one claim per element, but some providers send an array as one JSON string.
    private static IEnumerable<string> FromClaimValue(string value)
    {
        if (value.StartsWith('['))
        {
            try
            {
                using var json = JsonDocument.Parse(value);
                return Strings(json.RootElement).ToList();
            }
            catch (JsonException)
            {
                return [value];
            }
        }
        return [value];
    }

    private static IEnumerable<string> Strings(JsonElement node) => node.ValueKind switch
    {
        JsonValueKind.Array => node.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!),
        JsonValueKind.String => [node.GetString()!],
        _ => [],
    };
}
