using Beacon.ServiceDefaults;
using Npgsql;

namespace Beacon.Gateway.Tests;

/// <summary>
/// PostgreSQL text cannot hold NUL: every string parameter, alone or in an array, reaches the server with U+FFFD
/// instead, and nothing else changes. (The fuzz test on PostgreSQL sends NULs through every endpoint.)
/// </summary>
public sealed class PostgresTextTests
{
    [Fact]
    public void Nul_characters_in_string_parameters_become_the_replacement_character()
    {
        using var command = new NpgsqlCommand("SELECT 1");
        command.Parameters.AddWithValue("a", "stu\0-1");
        command.Parameters.AddWithValue("b", new[] { "ok", "x\0y", null });
        command.Parameters.AddWithValue("c", new List<string> { "\0" });
        command.Parameters.AddWithValue("d", "plain");
        command.Parameters.AddWithValue("e", 42);

        PostgresTextInterceptor.Clean(command);

        Assert.Equal("stu\uFFFD-1", command.Parameters["a"].Value);
        Assert.Equal(new[] { "ok", "x\uFFFDy", null }, (string?[])command.Parameters["b"].Value!);
        Assert.Equal(["\uFFFD"], (List<string>)command.Parameters["c"].Value!);
        Assert.Equal("plain", command.Parameters["d"].Value);
        Assert.Equal(42, command.Parameters["e"].Value);
    }
}
